import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDatabase, type Database } from '../../../src/store/database.ts';
import { testDatabases, type TestDatabaseKind } from '../../harness.ts';
import { Receiver, waitFor, type Received } from './receiver.ts';

/**
 * `kanplan serve` killed with SIGKILL while it delivers to a slow loopback receiver, then started
 * again on the same database: every event still arrives, in order per subscription, and the only
 * duplicates are notifications the receiver got before the kill (the retry of a delivery whose
 * answer the dead process never recorded — receivers drop them by event number). Fictional data.
 */
const TASK_TOPIC = 'https://kanplan.org/fhir/SubscriptionTopic/task';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const OWNERS = ['Organization/kp-crash-1', 'Organization/kp-crash-2', 'Organization/kp-crash-3'];
const BEFORE = 12;
const AFTER = 4;

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  /** Every log line of the process, parsed. */
  readonly lines: { msg?: string; subscription?: string; reason?: string }[];
}

/** Every process started, killed at the end even when a test timed out while one was starting. */
const children: ChildProcess[] = [];

/** `kanplan serve` on an ephemeral port without auth, delivering fast; resolves once it logged that it is ready. */
function serve(database: Record<string, string>): Promise<Served> {
  const env = {
    ...process.env,
    ...database,
    PORT: '0',
    BASE_URL: '',
    HOST: '127.0.0.1',
    LOAD_DEMO_DATA: 'false',
    AUTH_MODE: 'off',
    LOG_LEVEL: 'info',
    REMINDER_JOB_EVERY_MINUTES: '0',
    SUBSCRIPTION_POLL_MS: '20',
    SUBSCRIPTION_REFRESH_MS: '100',
    SUBSCRIPTION_RETRY_BASE_MS: '50',
    SUBSCRIPTION_RETRY_MAX_MS: '500',
    // A lane held by a killed process is free again after its lease: max(JOB_LEASE_MS, 3 × this timeout).
    SUBSCRIPTION_TIMEOUT_SECONDS: '2',
    JOB_LEASE_MS: '1000',
  };
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

async function put(url: string, path: string, body: object): Promise<number> {
  const response = await fetch(`${url}/${path}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

function subscription(endpoint: string, owner: string): object {
  return {
    resourceType: 'Subscription', status: 'requested', reason: 'crash test', criteria: TASK_TOPIC,
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: `Task.owner=${owner}` }] },
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] } },
  };
}

const task = (id: string, owner: string): object => ({ resourceType: 'Task', id, status: 'requested', intent: 'order', owner: { reference: owner } });

describe.each(testDatabases)('Subscription delivery survives kill -9 (%s)', (kind: TestDatabaseKind) => {
  let receiver: Receiver;
  let admin: Database | undefined;
  const schema = `t_subs_crash_${randomBytes(4).toString('hex')}`;
  let database: Record<string, string>;

  beforeAll(async () => {
    receiver = await new Receiver().start();
    if (kind === 'postgres') {
      const databaseUrl = process.env.TEST_DATABASE_URL as string;
      admin = await openDatabase({ databaseUrl, maxConnections: 1 });
      await admin.exec(`CREATE SCHEMA ${schema}`);
      database = { DATABASE_URL: `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` };
    } else {
      database = { DATA_DIR: mkdtempSync(`${tmpdir()}/kanplan-subs-crash-`) };
    }
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await receiver?.close();
    if (database?.DATA_DIR) rmSync(database.DATA_DIR, { recursive: true, force: true });
    if (admin) {
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    }
  });

  test('every event arrives, in order per subscription, duplicated only by the retry of what was in flight', async () => {
    const first = await serve(database);
    const ids: string[] = [];
    for (const [i, owner] of OWNERS.entries()) {
      const response = await fetch(`${first.url}/Subscription`, {
        method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(subscription(`${receiver.url}/crash-${i}`, owner)),
      });
      expect(response.status).toBe(201);
      ids.push(((await response.json()) as { id: string }).id);
    }
    await waitFor('three handshakes', () => ids.every((id) => receiver.of(id, 'handshake').length > 0));
    await waitFor('status active', async () => {
      const bundle = (await (await fetch(`${first.url}/Subscription?status=active&_summary=count`)).json()) as { total: number };
      return bundle.total === OWNERS.length;
    });

    // The receiver refuses (503) while the Tasks are written, so every event is still queued when it
    // turns slow but willing; the process is killed the moment the first notification arrives, so
    // that one is in flight, unanswered, and the rest are undelivered.
    receiver.mode = 'down';
    const exited = new Promise<void>((resolve) => first.child.once('exit', () => resolve()));
    for (let n = 1; n <= BEFORE; n++) {
      for (const [i, owner] of OWNERS.entries()) expect(await put(first.url, `Task/kp-crash-${i}-${n}`, task(`kp-crash-${i}-${n}`, owner))).toBe(201);
    }
    let beforeKill: Received[] = [];
    receiver.onReceive = (received) => {
      if (received.type !== 'event-notification') return;
      first.child.kill('SIGKILL');
      beforeKill = [...receiver.received];
      receiver.onReceive = undefined;
    };
    receiver.delayMs = 300;
    receiver.mode = 'ok';
    await exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    const delivered = beforeKill.filter((r) => r.type === 'event-notification');
    expect(delivered.length).toBeGreaterThanOrEqual(1);

    // The same database, a new process: it takes the lanes over once the dead one's leases run out.
    const second = await serve(database);
    for (let n = BEFORE + 1; n <= BEFORE + AFTER; n++) {
      for (const [i, owner] of OWNERS.entries()) expect(await put(second.url, `Task/kp-crash-${i}-${n}`, task(`kp-crash-${i}-${n}`, owner))).toBe(201);
    }
    const total = BEFORE + AFTER;
    for (const [i, id] of ids.entries()) {
      const arrived = await waitFor(`all ${total} events of subscription ${i}`, () => {
        const numbers = receiver.of(id).flatMap((r) => r.eventNumbers);
        return new Set(numbers).size >= total ? numbers : undefined;
      }, 60_000);
      const before = new Set(delivered.filter((r) => r.subscription === id).flatMap((r) => r.eventNumbers));
      const seen = new Set<number>();
      const firstArrivals: number[] = [];
      for (const number of arrived) {
        if (seen.has(number)) {
          // A duplicate is only ever a retry: of a notification the receiver had before the kill, or
          // after an attempt the new process logged as failed (on a loaded machine, a timeout).
          const retried = before.has(number) || second.lines.some((line) => line.msg === 'notification not delivered' && line.subscription === id);
          expect(retried, `event ${number} of subscription ${i} arrived twice though it was neither in flight at the kill nor retried`).toBe(true);
          continue;
        }
        seen.add(number);
        firstArrivals.push(number);
      }
      expect(firstArrivals).toEqual(Array.from({ length: total }, (_, k) => k + 1));
      // Each event is about the Task written in that place of the sequence.
      const order = receiver.of(id).flatMap((r) => r.bundle.entry.slice(1).map((e: { fullUrl: string }) => e.fullUrl.replace(/^.*\//, '')));
      expect([...new Set(order)]).toEqual(Array.from({ length: total }, (_, k) => `kp-crash-${i}-${k + 1}`));
    }
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
    // Two starts of kanplan serve (the embedded database loads in each) take minutes on a loaded machine.
  }, 420_000);
});
