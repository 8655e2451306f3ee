/**
 * What a Subscription registry's refresh tick costs: the generation query alone, and with the
 * process's liveness renewed in the same statement (what every tick runs since activation waits
 * for every live process, src/store/subscription-registries.ts). With 100 stored Subscriptions.
 *
 *   npm run bench:subscription-refresh -- --db pglite|postgres [--ticks 2000]
 *
 * Prints the median and p99 time per statement of each (and of the statement a tick ran before),
 * in microseconds. The PostgreSQL schema is dropped after.
 */
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../src/store/database.ts';
import { subscriptionsGeneration } from '../src/store/subscription-registries.ts';
import { openBenchDatabase, option } from './bench-database.ts';

const kind = option('--db', 'pglite');
const ticks = Number(option('--ticks', '2000'));
const db = await openBenchDatabase(kind, 'bench_subscription_refresh', 2);
await db.query(
  `INSERT INTO resource (resource_type, id, version_id, tx, last_updated, deleted, content)
   SELECT 'Subscription', 'bench-' || n, 1, n, now(), false, '{}' FROM generate_series(1, 100) AS n`,
);

async function timed(tick: () => Promise<unknown>): Promise<{ medianUs: number; p99Us: number }> {
  for (let i = 0; i < 100; i++) await tick();
  const times: number[] = [];
  for (let i = 0; i < ticks; i++) {
    const start = performance.now();
    await tick();
    times.push((performance.now() - start) * 1000);
  }
  times.sort((a, b) => a - b);
  return { medianUs: Math.round(times[Math.floor(ticks / 2)]), p99Us: Math.round(times[Math.floor(ticks * 0.99)]) };
}

// The statement each tick ran before (count and max(tx)), for comparison.
const before = await timed(() => db.query("SELECT count(*) || ':' || coalesce(max(tx), 0) AS g FROM resource WHERE resource_type = 'Subscription'"));
const generationOnly = await timed(() => subscriptionsGeneration(db));
const withLiveness = await timed(() => subscriptionsGeneration(db, { processId: 'bench-process', refreshMs: 2000 }));
console.log(JSON.stringify({ db: kind, ticks, before, generationOnly, withLiveness }));
await db.close();
if (kind !== 'pglite') {
  const admin = await openDatabase({ databaseUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', maxConnections: 1 });
  await admin.exec('DROP SCHEMA bench_subscription_refresh CASCADE');
  await admin.close();
}
