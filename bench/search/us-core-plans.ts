/**
 * Shared buffers and plan of each US Core per-patient search of the benchmark's data set, first
 * page, next page and `_summary=count` (issue 23): `EXPLAIN (ANALYZE, BUFFERS)` of the statement as
 * it runs (on the embedded database its generic plan, store/explain.ts), plus the single-client
 * in-process median time of 50 runs. Buffers do not depend on the machine's load; times do.
 * Run after `npm run bench:search -- pglite|postgres us-core` has loaded the data set (reindexed
 * here if the search parameters changed since).
 *
 *   node bench/search/us-core-plans.ts pglite|postgres [filter]   # filter: a substring of the search, e.g. Observation
 *   PLANS=1 node bench/search/us-core-plans.ts pglite date        # and print each plan
 */
import { performance } from 'node:perf_hooks';
import type { Bundle } from '@medplum/fhirtypes';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { explainSearch, reindex, searchResources, type SearchInput } from '../../src/search/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { LONG_HISTORY_PATIENT, usCorePatientSearches } from './synthea-shaped.ts';

const BASE = 'http://localhost:8080/fhir';
const kind = process.argv[2] === 'postgres' ? 'postgres' : 'pglite';
const filter = process.argv[3] ?? '';
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const db = kind === 'pglite'
  ? await openDatabase({ dataDir: process.env.BENCH_DATA_DIR ?? '.tmp/bench-us-core-pglite' })
  : await openDatabase({ databaseUrl: `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c search_path=bench_us_core')}`, maxConnections: 1 });
await migrate(db);
const conformance = loadConformance();
const reindexed = await reindex(db, conformance.searchParameters, { baseUrl: BASE });
if (reindexed) process.stderr.write(`reindexed ${reindexed} resources\n`);
const repo = new SqlRepository(db, {});
const input = (resourceType: string, params: [string, string][]): SearchInput => ({ resourceTypes: [resourceType], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 });

async function medianMs(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 10; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[25];
}

const [load1] = (await import('node:os')).loadavg();
console.log(`${kind}, load average ${load1.toFixed(1)}\n\n| search | page | shared buffers | 1 client p50 ms | driven by |\n|---|---|---|---|---|`);
for (const s of usCorePatientSearches(LONG_HISTORY_PATIENT)) {
  const name = `${s.resourceType}?${s.params.map(([k, v]) => `${k}=${v}`).join('&')}`;
  if (!name.includes(filter)) continue;
  const first = (await searchResources(conformance, repo, input(s.resourceType, s.params))) as Bundle;
  const next = first.link?.find((l) => l.relation === 'next')?.url;
  const pages: [string, [string, string][]][] = [['first', s.params], ['_summary=count', [...s.params, ['_summary', 'count']]]];
  if (next) pages.splice(1, 0, ['next', [...s.params, ['_cursor', new URL(next).searchParams.get('_cursor') as string]]]);
  for (const [page, params] of pages) {
    const plan = await explainSearch(conformance, repo, input(s.resourceType, params), true);
    const buffers = plan.match(/Buffers: shared hit=(\d+)(?: read=(\d+))?/);
    const shared = buffers ? Number(buffers[1]) + Number(buffers[2] ?? 0) : 0;
    const driver = plan.match(/Scan using (\w+) on (sp_\w+) d\b/);
    const ms = await medianMs(() => searchResources(conformance, repo, input(s.resourceType, params)));
    console.log(`| ${name} | ${page} | ${shared} | ${ms.toFixed(2)} | ${driver ? `${driver[2]} (${driver[1]})` : '?'} |`);
    if (process.env.PLANS) console.log(`\n\`\`\`\n${plan}\n\`\`\`\n`);
  }
}
await db.close();
