import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { SERVE_PROCESS_ENV } from '../harness.ts';

/** Lines the server logged, parsed, until `until` matches one or the process exits. */
function readLog(child: ReturnType<typeof spawn>, lines: Record<string, unknown>[], until: (line: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (until(line)) {
          child.stdout?.off('data', onData);
          resolve();
          return;
        }
        newline = buffered.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before the expected log line`)));
  });
}

interface Served {
  readonly child: ReturnType<typeof spawn>;
  /** The 'kanplan is ready' line. */
  readonly ready: { url: string; database: string };
  /** Every log line so far. */
  readonly lines: Record<string, unknown>[];
}

/** `kanplan serve` in its own process on an ephemeral port, without auth or demo data, once ready. */
async function serve(extraEnv: Record<string, string> = {}): Promise<Served> {
  const env = {
    ...process.env,
    DATA_DIR: mkdtempSync(`${tmpdir()}/kanplan-serve-`),
    ...SERVE_PROCESS_ENV,
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  await readLog(child, lines, (line) => line.msg === 'kanplan is ready');
  const ready = lines.find((line) => line.msg === 'kanplan is ready') as Served['ready'];
  return { child, ready, lines };
}

describe('kanplan serve', () => {
  test('starts on a new embedded database and on SIGTERM closes the server and database and exits 0', async () => {
    const { child, ready, lines } = await serve();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      if (code !== 0) console.error(stderr);
    });
    expect(ready.database).toBe('pglite');
    expect(ready.url).toMatch(/^http:\/\/localhost:[1-9]\d*\/fhir$/);
    expect((await fetch(ready.url.replace('localhost', '127.0.0.1').replace(/\/fhir$/, '/healthz'))).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const stopped = readLog(child, lines, (line) => line.msg === 'kanplan stopped');
    child.kill('SIGTERM');
    await stopped;
    expect(await exited).toBe(0);
  });

  test.runIf(Boolean(process.env.TEST_DATABASE_URL))(
    'starts on PostgreSQL with DATABASE_URL: creates the schema, serves reads and writes, and restarts on the migrated schema',
    async () => {
      const databaseUrl = process.env.TEST_DATABASE_URL as string;
      const schema = `t_serve_${randomBytes(4).toString('hex')}`;
      const admin = await openDatabase({ databaseUrl, maxConnections: 1 });
      await admin.exec(`CREATE SCHEMA ${schema}`);
      const start = async (): Promise<Served & { url: string }> => {
        const served = await serve({
          DATABASE_URL: `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
        });
        return { ...served, url: served.ready.url.replace('localhost', '127.0.0.1') };
      };
      const stop = async (child: ReturnType<typeof spawn>): Promise<number | null> => {
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        return exited;
      };
      try {
        const first = await start();
        expect(first.lines.find((line) => line.msg === 'kanplan is ready')).toMatchObject({ database: 'postgres' });
        expect(first.lines.some((line) => line.msg === 'database schema migrated')).toBe(true);
        expect(await (await fetch(first.url.replace(/\/fhir$/, '/readyz'))).json()).toEqual({ status: 'ready', database: 'postgres' });
        const created = await fetch(`${first.url}/Patient`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Testperson', given: ['Pat'] }] }),
        });
        expect(created.status).toBe(201);
        const location = created.headers.get('location') as string;
        expect(await stop(first.child)).toBe(0);

        const second = await start();
        expect(second.lines.some((line) => line.msg === 'database schema migrated')).toBe(false);
        // Same database, new port: the resource is read back by the id the first process assigned.
        const id = /\/Patient\/([^/]+)\/_history\/1$/.exec(location)?.[1];
        const read = await fetch(`${second.url}/Patient/${id}`);
        expect(read.status).toBe(200);
        expect(((await read.json()) as { name: { family: string }[] }).name[0].family).toBe('Testperson');
        expect(await stop(second.child)).toBe(0);
      } finally {
        await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
        await admin.close();
      }
    },
  );
});
