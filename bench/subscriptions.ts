/**
 * Subscription delivery (issue 18; targets: p99 from commit to receipt <= 1 s at 100
 * notifications/s, and write throughput with 100 active subscriptions at most 20% below none).
 * An in-process server (AUTH_MODE=off, audit off so only subscriptions differ) and ten loopback
 * receivers (ten receiving systems, ten subscriptions each — SUBSCRIPTION_PER_ENDPOINT applies per
 * origin):
 *   1. Task writes (PUT, 8 at a time) with no Subscription, then with 100 active topic
 *      Subscriptions whose filters (Task.owner) match none of them — the cost of matching on every
 *      write (the second run writes into a database grown by the first: slightly against it);
 *   2. Tasks written at a steady rate (default 100/s) that each match one of the 100 Subscriptions;
 *      each notification's delay after its write's response (which follows its COMMIT; a
 *      notification that arrives first counts 0) is recorded.
 *
 *   npm run bench:subscriptions -- [pglite|postgres] [writes=2000] [rate=100]
 *   (postgres: BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres; a new schema, dropped after)
 *
 * Measure on a quiet machine only (load average < 1); the figures are printed as JSON with the
 * load average before and after. Fictional data.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server/server.ts';
import { openDatabase, type Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';

const kind = process.argv[2] === 'postgres' ? 'postgres' : 'pglite';
const writes = Number(process.argv[3] ?? 2000);
const rate = Number(process.argv[4] ?? 100);
const RECEIVERS = 10;
const SUBSCRIPTIONS = 100;
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const loadBefore = loadavg().map((l) => l.toFixed(2));

const respondedAt = new Map<string, number>();
const receivedAt = new Map<string, number>();
let notifications = 0;
const receivers = await Promise.all(
  Array.from({ length: RECEIVERS }, async () => {
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entry: { fullUrl: string }[] };
        for (const entry of bundle.entry.slice(1)) {
          const id = entry.fullUrl.replace(/^.*\//, '');
          if (!receivedAt.has(id)) receivedAt.set(id, performance.now());
          notifications++;
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    return receiver;
  }),
);
const hooks = receivers.map((r) => `http://127.0.0.1:${(r.address() as AddressInfo).port}/hook`);

async function open(): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openDatabase({});
    await migrate(db);
    return { db, drop: () => db.close() };
  }
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const schema = `bench_subs_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = await openDatabase({ databaseUrl: url, schema, maxConnections: 20 });
  await migrate(db);
  return {
    db,
    async drop() {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

const { db, drop } = await open();
const config = loadConfig({ AUTH_MODE: 'off', AUDIT: 'false', REMINDER_JOB_EVERY_MINUTES: '0' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false });
const server = await startServer(config, { db, logger: pino({ level: 'warn' }) });
const send = (path: string, body: object, method = 'POST'): Promise<Response> =>
  fetch(`${server.url}/${path}`, { method, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
const task = (id: string, owner: string): object => ({ resourceType: 'Task', id, status: 'requested', intent: 'order', owner: { reference: owner } });

async function writeRate(label: string, n: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const i = next++;
        const response = await send(`Task/bench-${label}-${i}`, task(`bench-${label}-${i}`, 'Organization/bench-nobody'), 'PUT');
        await response.arrayBuffer();
        if (response.status !== 201) throw new Error(`write ${i} answered ${response.status}`);
      }
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

const none = await writeRate('none', writes);
for (let i = 0; i < SUBSCRIPTIONS; i++) {
  const created = await send('Subscription', {
    resourceType: 'Subscription', status: 'requested', reason: 'bench', criteria: 'https://kanplan.org/fhir/SubscriptionTopic/task',
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: `Task.owner=Organization/bench-mco-${i}` }] },
    channel: { type: 'rest-hook', endpoint: hooks[i % RECEIVERS], payload: 'application/fhir+json', _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] } },
  });
  if (created.status !== 201) throw new Error(`Subscription ${i} answered ${created.status}: ${await created.text()}`);
}
// Measured once every handshake is done, so only matching is compared.
const active = async (): Promise<number> => ((await (await fetch(`${server.url}/Subscription?status=active&_summary=count`)).json()) as { total: number }).total;
while ((await active()) < SUBSCRIPTIONS) await new Promise((resolve) => setTimeout(resolve, 100));
await server.ctx.subscriptions?.refresh();
const hundred = await writeRate('hundred', writes);

// Steady rate of matching writes; each notification's delay after its write's response.
const started = performance.now();
const pending: Promise<void>[] = [];
for (let i = 0; i < writes; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const id = `bench-match-${i}`;
  pending.push(
    send(`Task/${id}`, task(id, `Organization/bench-mco-${i % SUBSCRIPTIONS}`), 'PUT').then(async (r) => {
      await r.arrayBuffer();
      respondedAt.set(id, performance.now());
    }),
  );
}
await Promise.all(pending);
const writtenIn = (performance.now() - started) / 1000;
const deadline = performance.now() + 120_000;
while (receivedAt.size < writes && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
const elapsed = (Math.max(...receivedAt.values(), performance.now() - 1) - started) / 1000;
const delays = [...respondedAt].map(([id, at]) => Math.max(0, (receivedAt.get(id) ?? Number.POSITIVE_INFINITY) - at)).sort((a, b) => a - b);
const pct = (p: number): string => {
  const value = delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))];
  return value === undefined ? '-' : Number.isFinite(value) ? value.toFixed(0) : 'not received';
};
console.log(
  JSON.stringify(
    {
      database: kind,
      writes,
      rate,
      loadAverageBefore: loadBefore,
      writesPerSecondNoSubscriptions: Math.round(none),
      writesPerSecond100Subscriptions: Math.round(hundred),
      writeThroughputChange: `${(((hundred - none) / none) * 100).toFixed(1)}%`,
      steadyRateWritesIn: `${writtenIn.toFixed(1)} s`,
      notificationsReceived: receivedAt.size,
      notificationPosts: notifications,
      notificationsPerSecond: Math.round(receivedAt.size / elapsed),
      commitToReceiptMs: { p50: pct(50), p95: pct(95), p99: pct(99), max: pct(100) },
      loadAverageAfter: loadavg().map((l) => l.toFixed(2)),
    },
    null,
    2,
  ),
);
await server.close();
await drop();
for (const receiver of receivers) receiver.close();
