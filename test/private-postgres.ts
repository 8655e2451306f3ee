import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of a test's own (initdb + pg_ctl in a temporary directory, on a port of
 * its own), which the test may stop and start: the shared PostgreSQL at TEST_DATABASE_URL is
 * used by every other test and must never be restarted.
 */
export interface PrivatePostgres {
  /** Connection URL of its `postgres` database (trust authentication, loopback only). */
  readonly url: string;
  /** `pg_ctl stop` in the given mode: `fast` (what a restart does) or `immediate` (a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Where initdb and pg_ctl are: KANPLAN_PG_BIN, or the newest /usr/lib/postgresql/N/bin. */
function postgresBin(): string | undefined {
  if (process.env.KANPLAN_PG_BIN) return process.env.KANPLAN_PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return undefined;
  const versions = fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : undefined;
}

/** The `postgres` user's uid and gid from /etc/passwd, if there is one. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** initdb refuses root: as root, the cluster's commands run as the `postgres` user (runuser). */
function asClusterOwner(): { wrap: (command: string, args: string[]) => [string, string[]]; owner?: { uid: number; gid: number } } | string {
  if (process.getuid?.() !== 0) return { wrap: (command, args) => [command, args] };
  const owner = postgresUser();
  if (!owner) return 'running as root and there is no `postgres` user to run initdb as';
  return { wrap: (command, args) => ['runuser', ['-u', 'postgres', '--', command, ...args]], owner };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Why a private cluster cannot be made here, or undefined when it can. */
export function privatePostgresUnavailable(): string | undefined {
  const bin = postgresBin();
  if (!bin) return 'no PostgreSQL server binaries (initdb, pg_ctl) found: set KANPLAN_PG_BIN to their directory';
  const owner = asClusterOwner();
  return typeof owner === 'string' ? owner : undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin() as string;
  const owner = asClusterOwner();
  if (typeof owner === 'string') throw new Error(owner);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kanplan-pg-'));
  const dataDir = path.join(dir, 'data');
  if (owner.owner) fs.chownSync(dir, owner.owner.uid, owner.owner.gid);
  const pg = (command: string, args: string[]) => {
    const [file, argv] = owner.wrap(path.join(bin, command), args);
    return run(file, argv, { cwd: dir, timeout: 120_000 });
  };
  await pg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  // Loopback and a socket in the cluster's own directory; fsync off: a test's throwaway cluster.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const start = async () => {
    await pg('pg_ctl', ['-D', dataDir, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pg('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async destroy() {
      await stop('immediate').catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
