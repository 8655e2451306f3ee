/**
 * Subscription delivery (issue 18; targets: p99 from commit to receipt <= 1 s at 100
 * notifications/s, and write throughput with 100 active subscriptions at most 20% below none).
 * An in-process server (AUTH_MODE=off) and a loopback receiver:
 *   1. creates of Tasks with no Subscription, then with 100 active topic Subscriptions whose
 *      filters (Task.owner) match none of the Tasks — the cost of matching on every write;
 *   2. Tasks written at a steady rate (default 100/s) that each match one of the 100 Subscriptions;
 *      each receipt's delay after the write's response (which follows its COMMIT) is recorded.
 *
 *   node bench/subscriptions.ts [pglite|postgres] [writes=2000] [rate=100]   # BENCH_DATABASE_URL for postgres
 *
 * Measure on a quiet machine only (load average < 2). Fictional data.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server/server.ts';
import { openDatabase } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';

const kind = process.argv[2] === 'postgres' ? 'postgres' : 'pglite';
const writes = Number(process.argv[3] ?? 2000);
const rate = Number(process.argv[4] ?? 100);
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

const sentAt = new Map<string, number>();
const delays: number[] = [];
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    for (const entry of bundle.entry.slice(1)) {
      const id = String(entry.fullUrl).replace(/^.*\//, '');
      const start = sentAt.get(id);
      if (start !== undefined) delays.push(performance.now() - start);
    }
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const db = await openDatabase(kind === 'postgres' ? { databaseUrl: process.env.BENCH_DATABASE_URL } : {});
await migrate(db);
const config = loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false });
const server = await startServer(config, { db, logger: pino({ level: 'warn' }) });
const post = (path: string, body: object, method = 'POST'): Promise<Response> =>
  fetch(`${server.url}/${path}`, { method, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
const task = (id: string, owner: string): object => ({ resourceType: 'Task', id, status: 'requested', intent: 'order', owner: { reference: owner } });

async function createRate(label: string, n: number): Promise<number> {
  const started = performance.now();
  const concurrency = 8;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      await (await post(`Task/bench-${label}-${i}`, task(`bench-${label}-${i}`, 'Organization/bench-nobody'), 'PUT')).arrayBuffer();
    }
  }));
  return n / ((performance.now() - started) / 1000);
}

const none = await createRate('none', writes);
for (let i = 0; i < 100; i++) {
  await post('Subscription', {
    resourceType: 'Subscription', status: 'requested', reason: 'bench', criteria: 'https://kanplan.org/fhir/SubscriptionTopic/task',
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: `Task.owner=Organization/bench-mco-${i}` }] },
    channel: { type: 'rest-hook', endpoint: hook, payload: 'application/fhir+json', _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] } },
  });
}
// Measured once every handshake is done, so only matching is compared.
const active = async (): Promise<number> => (await (await fetch(`${server.url}/Subscription?status=active&_summary=count`)).json()).total;
while ((await active()) < 100) await new Promise((resolve) => setTimeout(resolve, 100));
await server.ctx.subscriptions?.refresh();
const hundred = await createRate('hundred', writes);

// Steady rate of matching writes; each write's receipt delay after its response.
const started = performance.now();
for (let i = 0; i < writes; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const id = `bench-match-${i}`;
  void post(`Task/${id}`, task(id, `Organization/bench-mco-${i % 100}`), 'PUT').then((r) => {
    sentAt.set(id, performance.now());
    return r.arrayBuffer();
  });
}
const deadline = performance.now() + 120_000;
while (delays.length < writes && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
const elapsed = (performance.now() - started) / 1000;
delays.sort((a, b) => a - b);
const pct = (p: number): string => (delays.length ? delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))].toFixed(0) : '-');
console.log(JSON.stringify({
  database: kind,
  createsPerSecondNoSubscriptions: Math.round(none),
  createsPerSecond100Subscriptions: Math.round(hundred),
  writeThroughputChange: `${(((hundred - none) / none) * 100).toFixed(1)}%`,
  notificationsReceived: delays.length,
  notificationsPerSecond: Math.round(delays.length / elapsed),
  commitToReceiptMs: { p50: pct(50), p95: pct(95), p99: pct(99) },
}, null, 2));
await server.close();
await db.close();
receiver.close();
