import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Receiver, waitFor } from './receiver.ts';
import { killAll, post, put, read, serve, sharedDatabase, stopServed, task, taskSubscription, type SharedDatabase } from './served-process.ts';

/**
 * A Subscription turns active only when every live server process matches it: two real
 * `kanplan serve` processes on one PostgreSQL, the writing one checking for new Subscriptions far
 * less often (SUBSCRIPTION_REFRESH_MS 5 s) than the other takes to hand-shake. A client that writes
 * through it the moment the Subscription reads `active` still gets every event, once, in order.
 * (The embedded database serves one process only.) Fictional data.
 */
const OWNER = 'Organization/kp-activation-1';
const WRITES = 10;

describe.skipIf(!process.env.TEST_DATABASE_URL)('Subscription activation across processes (postgres)', () => {
  let receiver: Receiver;
  let database: SharedDatabase;

  beforeAll(async () => {
    receiver = await new Receiver().start();
    database = await sharedDatabase('postgres', 'subs_activation');
  });

  afterAll(async () => {
    killAll();
    await receiver?.close();
    await database?.close();
  });

  /** Polls (as a client would) until the Subscription reads active. */
  async function untilActive(url: string, id: string): Promise<void> {
    await waitFor(`Subscription/${id} active`, async () => (await read(url, `Subscription/${id}`)).status === 'active', 60_000);
  }

  /** Writes WRITES Tasks for OWNER through `url`, one after the other, and waits until `id` received that many events; returns their numbers. */
  async function writeAndReceive(url: string, id: string, prefix: string): Promise<number[]> {
    const before = receiver.of(id).flatMap((r) => r.eventNumbers).length;
    for (let n = 1; n <= WRITES; n++) expect(await put(url, `Task/${prefix}-${n}`, task(`${prefix}-${n}`, OWNER))).toBe(201);
    const numbers = await waitFor(`${WRITES} events of ${id}`, () => {
      const all = receiver.of(id).flatMap((r) => r.eventNumbers);
      return all.length >= before + WRITES ? all.slice(before) : undefined;
    }, 30_000);
    const tasks = receiver.of(id).flatMap((r) => r.bundle.entry.slice(1).map((e: { fullUrl: string }) => e.fullUrl.replace(/^.*\//, ''))).slice(before);
    expect(tasks).toEqual(Array.from({ length: WRITES }, (_, k) => `${prefix}-${k + 1}`));
    return numbers;
  }

  test('a write through a process that has not refreshed since the Subscription turned active is notified', async () => {
    // `delivering` hand-shakes (its registry reloads at once); `writing` delivers nothing and
    // would, on its own schedule, see the new Subscription only up to 5 s later.
    const delivering = await serve(database, { SUBSCRIPTION_REFRESH_MS: '100' });
    const writing = await serve(database, { SUBSCRIPTION_REFRESH_MS: '5000', SUBSCRIPTION_DELIVERY: 'false' });
    const created = await post(delivering.url, 'Subscription', taskSubscription(`${receiver.url}/activation`, OWNER));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await untilActive(delivering.url, id);
    expect(await writeAndReceive(writing.url, id, 'kp-activation-a')).toEqual(Array.from({ length: WRITES }, (_, k) => k + 1));

    // Turned off (the writing process stops matching it at its next refresh), then set active by
    // its client: a new handshake, again only once the writing process matches it.
    const current = await read(delivering.url, `Subscription/${id}`);
    expect(await put(delivering.url, `Subscription/${id}`, { ...current, status: 'off' })).toBe(200);
    // Long enough for the writing process's next refresh, which drops it (an `off` one is not matched).
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const off = await read(delivering.url, `Subscription/${id}`);
    expect(await put(delivering.url, `Subscription/${id}`, { ...off, status: 'active' })).toBe(200);
    await untilActive(delivering.url, id);
    expect(await writeAndReceive(writing.url, id, 'kp-activation-b')).toEqual(Array.from({ length: WRITES }, (_, k) => WRITES + k + 1));
    await stopServed(writing);
    await stopServed(delivering);
  }, 240_000);
});
