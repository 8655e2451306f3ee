import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, type Config } from '../../../src/config.ts';
import { startServer, type RunningServer } from '../../../src/server/server.ts';
import type { Database } from '../../../src/store/database.ts';
import { http, issueTestToken, openTestDatabase, testDatabases, TEST_KEY_FILE } from '../../harness.ts';
import { Receiver, waitFor } from './receiver.ts';
import { taskSubscription } from './served-process.ts';

/**
 * Delivery across server processes on one database: a server stopped while a receiver holds its
 * notification loses nothing (the next process sends it again, same event number), two
 * processes delivering at once send each event once, in order per subscription, and a handshake
 * waits for every live process to match the Subscription, but not for one that stopped renewing
 * its liveness.
 */
function configOf(): Config {
  return loadConfig({}, {
    port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false,
    auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: 'https://kanplan.test/issuer', audience: 'https://kanplan.test/issuer' },
    jobs: { enabled: false, pollMs: 1000, leaseMs: 500 },
    subscriptions: {
      delivery: true, allowHttpLoopback: true, pollMs: 20, workers: 8, perEndpoint: 2, timeoutMs: 60_000,
      retryBaseMs: 30, retryMaxMs: 200, retryWindowMs: 86_400_000, errorAfterFailures: 100, retentionMs: 3_600_000, refreshMs: 50,
    },
  });
}

describe.each(testDatabases)('Subscription delivery across processes (%s)', (kind) => {
  let db: Database;
  let receiver: Receiver;
  const servers: RunningServer[] = [];

  async function start(): Promise<{ url: string; token: string; server: RunningServer }> {
    const server = await startServer(configOf(), { db, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }) });
    servers.push(server);
    return { url: server.url, token: await issueTestToken(server, 'system/*.cruds'), server };
  }

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    receiver = await new Receiver().start();
  });

  afterAll(async () => {
    for (const server of servers) await server.close().catch(() => undefined);
    await receiver?.close();
    await db?.close();
  });

  async function subscribe(api: { url: string; token: string }, path: string, owner: string): Promise<string> {
    const id = (await http(api, 'POST', 'Subscription', { body: taskSubscription(`${receiver.url}/${path}`, owner) })).body.id as string;
    await waitFor('status active', async () => (await http(api, 'GET', `Subscription/${id}`)).body.status === 'active');
    return id;
  }

  test('a process stopped mid-delivery loses nothing: the next one sends the event again', async () => {
    const first = await start();
    const id = await subscribe(first, 'restart', 'Organization/kp-sub-restart');
    receiver.mode = 'hang';
    await http(first, 'PUT', 'Task/kp-sub-r1', { body: { resourceType: 'Task', id: 'kp-sub-r1', status: 'requested', intent: 'order', owner: { reference: 'Organization/kp-sub-restart' } } });
    // The notification is in flight (the receiver holds it) when the process stops.
    await waitFor('a held request', () => (receiver as unknown as { held: unknown[] }).held.length > 0);
    await first.server.close();
    receiver.releaseHeld();
    receiver.mode = 'ok';
    await start();
    const got = await waitFor('the event after restart', () => (receiver.of(id).length >= 1 ? receiver.of(id) : undefined));
    expect(got.flatMap((r) => r.eventNumbers)).toEqual([1]);
    // Two server starts on the embedded database take most of a minute on a loaded machine.
  }, 180_000);

  test('two processes deliver every event once, in order per subscription', async () => {
    const a = await start();
    const b = await start();
    const owners = ['Organization/kp-sub-c1', 'Organization/kp-sub-c2', 'Organization/kp-sub-c3'];
    const ids = [await subscribe(a, 'c1', owners[0]), await subscribe(b, 'c2', owners[1]), await subscribe(a, 'c3', owners[2])];
    // No wait: a Subscription turns active only once both processes' registries match it.
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const api = i % 2 ? a : b;
      writes.push(http(api, 'PUT', `Task/kp-sub-c-${i}`, { body: { resourceType: 'Task', id: `kp-sub-c-${i}`, status: 'requested', intent: 'order', owner: { reference: owners[i % 3] } } }));
    }
    await Promise.all(writes);
    for (const id of ids) {
      const numbers = await waitFor(`ten events of ${id}`, () => {
        const all = receiver.of(id).flatMap((r) => r.eventNumbers);
        return all.length >= 10 ? all : undefined;
      });
      expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
  }, 180_000);

  test('a process that stopped renewing its liveness holds a handshake only until it counts as gone', async () => {
    const api = await start();
    // A process that is live (its row renewed just now, refreshing every 10 minutes) but never loads.
    const stalled = 'kp-test-host/1/stalled';
    await db.query("INSERT INTO subscription_process (process_id, alive_at, refresh_ms) VALUES ($1, now(), 600000)", [stalled]);
    const id = (await http(api, 'POST', 'Subscription', { body: taskSubscription(`${receiver.url}/stalled`, 'Organization/kp-sub-stalled') })).body.id as string;
    // Every running server has acknowledged it; only the stalled process has not.
    await waitFor('the running servers to acknowledge', async () => {
      const rows = await db.query<{ process_id: string }>(
        `SELECT p.process_id FROM subscription_process p
         WHERE NOT EXISTS (SELECT 1 FROM subscription_acknowledgement a WHERE a.subscription_id = $1 AND a.process_id = p.process_id)`,
        [id],
      );
      return rows.length === 1 && rows[0].process_id === stalled;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.of(id, 'handshake')).toEqual([]);
    expect((await http(api, 'GET', `Subscription/${id}`)).body.status).toBe('requested');

    // Its row goes stale (as if it died an hour ago): the handshake no longer waits for it.
    await db.query("UPDATE subscription_process SET alive_at = now() - interval '1 hour' WHERE process_id = $1", [stalled]);
    await waitFor('status active', async () => (await http(api, 'GET', `Subscription/${id}`)).body.status === 'active');
    expect(receiver.of(id, 'handshake')).toHaveLength(1);
  }, 180_000);
});
