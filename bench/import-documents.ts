/**
 * PCSP import throughput (issue 6; target >= 50 PCSP documents per second into PostgreSQL, each
 * ~20 resources, with full validation). Each document goes the way `$import-document` takes it:
 * schema + rules, mapping, lookup of a previous import, one transaction of conditional updates
 * with base R4 + Kansas profile validation on every write, search-index rows. HTTP is left out.
 *
 *   node bench/import-documents.ts pglite [documents=200] [concurrency=1]
 *   node bench/import-documents.ts postgres [documents=500] [concurrency=4]   # BENCH_DATABASE_URL
 *
 * Documents are the fictional Avery Example PCSP with a new planId and Medicaid ID each.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { importPlanDocument } from '../src/documents/import-flow.ts';
import type { PcspDocument } from '../src/documents/pcsp/pcsp-types.ts';
import { planStoreOf } from '../src/fhir/operations/plan-store.ts';
import { createFhirContext } from '../src/server/server.ts';
import { openDatabase, type Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';

const kind = process.argv[2] === 'postgres' ? 'postgres' : 'pglite';
const count = Number(process.argv[3] ?? (kind === 'postgres' ? 500 : 200));
const concurrency = Number(process.argv[4] ?? (kind === 'postgres' ? 4 : 1));
const template = JSON.parse(readFileSync(new URL('../bundles/documents/avery-example.pcsp.json', import.meta.url), 'utf8')) as PcspDocument;

function documentFor(i: number): PcspDocument {
  const n = String(i).padStart(7, '0');
  return { ...template, planId: `PCSP-BENCH-${n}`, person: { ...template.person, medicaidId: `KS-TEST-B${n}` } };
}

async function open(): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openDatabase({});
    await migrate(db);
    return { db, drop: async () => db.close() };
  }
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const schema = `bench_import_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = await openDatabase({ databaseUrl: url, schema, maxConnections: concurrency + 1 });
  await migrate(db);
  return {
    db,
    drop: async () => {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const { db, drop } = await open();
  const ctx = createFhirContext(loadConfig({ ...process.env, LOAD_DEMO_DATA: 'false' }), db, pino({ level: 'silent' }));
  const importOne = async (i: number): Promise<{ ms: number; resources: number }> => {
    const started = performance.now();
    const result = await ctx.repo.transaction((repo) => importPlanDocument(documentFor(i), 'application/json', planStoreOf({ ...ctx, repo })));
    if (!result.ok) {
      throw new Error(`document ${i}: ${JSON.stringify(result.outcome.issue?.slice(0, 3))}`);
    }
    return { ms: performance.now() - started, resources: result.summary.created + result.summary.updated };
  };
  // Warm-up: validators, profile cache, JIT.
  for (let i = 0; i < 10; i++) await importOne(1_000_000 + i);

  const latencies: number[] = [];
  let resources = 0;
  let next = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const result = await importOne(next++);
        latencies.push(result.ms);
        resources += result.resources;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const row = {
    database: kind,
    documents: count,
    concurrency,
    resourcesPerDocument: Math.round(resources / count),
    seconds: Number(seconds.toFixed(2)),
    documentsPerSecond: Number((count / seconds).toFixed(1)),
    resourcesPerSecond: Math.round(resources / seconds),
    p50ms: Number(percentile(latencies, 50).toFixed(1)),
    p95ms: Number(percentile(latencies, 95).toFixed(1)),
    // CPU of this process (mapping, validation, indexing, SQL client; PGlite too when embedded)
    // per document: steadier than wall time on a shared machine.
    nodeCpuMsPerDocument: Number(((cpu.user + cpu.system) / 1000 / count).toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  await drop();
}

await main();
