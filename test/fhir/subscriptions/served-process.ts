import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openDatabase, type Database } from '../../../src/store/database.ts';
import { SERVE_PROCESS_ENV, type TestDatabaseKind } from '../../harness.ts';

/**
 * Real `kanplan serve` processes for the subscription tests that need more than one process or a
 * kill: each on an ephemeral port without auth, on a database of the test's own (a fresh schema
 * of the PostgreSQL at TEST_DATABASE_URL, or an embedded data directory).
 */
export interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  /** Every log line of the process, parsed. */
  readonly lines: { msg?: string; subscription?: string; reason?: string }[];
}

/** The database the processes share: the environment that points `kanplan serve` at it. */
export interface SharedDatabase {
  readonly env: Record<string, string>;
  /** A connection of the test's own to the same database (PostgreSQL only). */
  readonly db?: Database;
  close(): Promise<void>;
}

export async function sharedDatabase(kind: TestDatabaseKind, name: string): Promise<SharedDatabase> {
  if (kind === 'pglite') {
    const dir = mkdtempSync(`${tmpdir()}/kanplan-${name}-`);
    return { env: { DATA_DIR: dir }, close: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const databaseUrl = process.env.TEST_DATABASE_URL as string;
  const schema = `t_${name.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = await openDatabase({ databaseUrl, schema, maxConnections: 2 });
  return {
    env: { DATABASE_URL: `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` },
    db,
    async close() {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

/** Every process started, for `killAll` at the end even when a test timed out while one was starting. */
const children: ChildProcess[] = [];

/** `kanplan serve` delivering fast (settings overridable by `env`); resolves once it logged that it is ready. */
export function serve(database: SharedDatabase, env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve'], {
    env: {
      ...process.env,
      ...database.env,
      ...SERVE_PROCESS_ENV,
      REMINDER_JOB_EVERY_MINUTES: '0',
      SUBSCRIPTION_POLL_MS: '20',
      SUBSCRIPTION_REFRESH_MS: '100',
      SUBSCRIPTION_RETRY_BASE_MS: '50',
      SUBSCRIPTION_RETRY_MAX_MS: '500',
      // A lane held by a killed process is free again after its lease: max(JOB_LEASE_MS, 3 × this timeout).
      SUBSCRIPTION_TIMEOUT_SECONDS: '2',
      JOB_LEASE_MS: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Served['lines'] = [];
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const parsed = line.startsWith('{') ? (JSON.parse(line) as { msg?: string; url?: string }) : {};
        lines.push(parsed);
        if (parsed.msg === 'kanplan is ready') resolve({ child, lines, url: String(parsed.url).replace('localhost', '127.0.0.1') });
      }
    });
    child.once('exit', (code) => reject(new Error(`kanplan serve exited with ${code} before it was ready`)));
  });
}

/** Stops a process as an operator would (SIGTERM) and waits for it to exit. */
export async function stopServed(served: Served): Promise<void> {
  if (served.child.exitCode !== null || served.child.signalCode !== null) return;
  const exited = new Promise((resolve) => served.child.once('exit', resolve));
  served.child.kill('SIGTERM');
  await exited;
}

/** Kills every process still running (a test that failed or timed out). */
export function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export async function put(url: string, path: string, body: object): Promise<number> {
  const response = await fetch(`${url}/${path}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

export async function post(url: string, path: string, body: object): Promise<{ status: number; body: { id?: string; status?: string } }> {
  const response = await fetch(`${url}/${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { id?: string } };
}

export async function read(url: string, path: string): Promise<{ status?: string; [key: string]: unknown }> {
  const response = await fetch(`${url}/${path}`);
  return (await response.json()) as { status?: string };
}

const TASK_TOPIC = 'https://kanplan.org/fhir/SubscriptionTopic/task';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

/** A topic-based Subscription to the Tasks of one owner, id-only payload (fictional data). */
export function taskSubscription(endpoint: string, owner: string, reason = 'test'): object {
  return {
    resourceType: 'Subscription', status: 'requested', reason, criteria: TASK_TOPIC,
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: `Task.owner=${owner}` }] },
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] } },
  };
}

export const task = (id: string, owner: string): object => ({ resourceType: 'Task', id, status: 'requested', intent: 'order', owner: { reference: owner } });
