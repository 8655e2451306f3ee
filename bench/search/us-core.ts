/**
 * The US Core per-patient searches scenario of the search benchmark (issue 23):
 *
 *   npm run bench:search -- pglite us-core
 *   npm run bench:search -- postgres us-core     # BENCH_DATABASE_URL, schema bench_us_core
 *
 * A Synthea-shaped data set (synthea-shaped.ts: BENCH_PATIENTS patients, default 120, with
 * BENCH_OBSERVATIONS Observations each, default 200, and one long-history patient with 800) is
 * loaded through the Repository with the planner statistics the server keeps (no VACUUM ANALYZE:
 * what a user of `kanplan serve` gets), then for the long-history patient every US Core search's
 * first page, a later page (its `next` link) and `_summary=count` are measured in-process: the
 * single-client p50 and the p99 of CLIENTS concurrent clients, BENCH_RUNS times (default 3),
 * median of the runs; plus paging through all the patient's laboratory and vital-sign Observations
 * (`category=laboratory,vital-signs`) in pages of 20. Each
 * statement's plan is checked to be driven from the patient (as test/search/patient-plans.test.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Bundle } from '@medplum/fhirtypes';
import type { Conformance } from '../../src/conformance/conformance.ts';
import { createSearchIndexParticipant, explainSearch, reindex, searchResources, type SearchInput } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import { PlannerStatistics } from '../../src/store/planner-statistics.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { CLIENTS } from './measure.ts';
import { LONG_HISTORY_PATIENT, syntheaShapedPatient, usCorePatientSearches, type SyntheaShapedOptions } from './synthea-shaped.ts';

const BASE = 'http://localhost:8080/fhir';

/** Value-index scans or joins a patient-driven plan never has (test/search/patient-plans.test.ts). */
const NOT_PATIENT_DRIVEN = /sp_token_value|sp_token_system|sp_token_text|sp_string_norm|sp_date_low|sp_date_high|sp_number_value|sp_quantity_value|sp_uri_value|resource_type_last_updated|resource_last_updated|Seq Scan on (resource|sp_\w+)|Hash (Semi )?Join|Merge (Semi )?Join/;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (values: readonly number[]): number => percentile(values, 50);

/** Single-client p50 (sequential) and the p99 of CLIENTS closed-loop clients, ms. */
async function latencies(fn: () => Promise<void>, iterations: number): Promise<{ single: number; p99: number }> {
  for (let i = 0; i < 20; i++) await fn();
  const single: number[] = [];
  for (let i = 0; i < Math.min(100, iterations); i++) {
    const t0 = performance.now();
    await fn();
    single.push(performance.now() - t0);
  }
  const concurrent: number[] = [];
  let remaining = iterations;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (remaining-- > 0) {
        const t0 = performance.now();
        await fn();
        concurrent.push(performance.now() - t0);
      }
    }),
  );
  return { single: percentile(single, 50), p99: percentile(concurrent, 99) };
}

function input(resourceType: string, params: [string, string][]): SearchInput {
  return { resourceTypes: [resourceType], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 };
}

const nextCursor = (bundle: Bundle): string | undefined => {
  const next = bundle.link?.find((l) => l.relation === 'next')?.url;
  return next ? (new URL(next).searchParams.get('_cursor') ?? undefined) : undefined;
};

export function usCoreOptions(): SyntheaShapedOptions {
  return {
    patients: Number(process.env.BENCH_PATIENTS ?? 120),
    longHistoryObservations: 800,
    observationsPerPatient: Number(process.env.BENCH_OBSERVATIONS ?? 200),
  };
}

async function load(db: Database, conformance: Conformance, options: SyntheaShapedOptions): Promise<SqlRepository> {
  const statistics = (await PlannerStatistics.needed(db)) ? new PlannerStatistics(db) : undefined;
  await statistics?.start();
  const repo = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: BASE })], statistics });
  const [{ n }] = await db.query<{ n: string }>("SELECT count(*) AS n FROM resource WHERE id LIKE 'syn-p%'");
  const expected = Array.from({ length: options.patients }, (_, p) => syntheaShapedPatient(p, options).length).reduce((a, b) => a + b, 0);
  if (Number(n) >= expected) {
    // Loaded before the search parameters changed (e.g. a new combination index): reindexed, as `kanplan reindex` would.
    const done = await reindex(db, conformance.searchParameters, { baseUrl: BASE });
    process.stderr.write(`reusing ${n} resources${done ? `, reindexed ${done}` : ''}\n`);
  } else {
    const started = performance.now();
    for (let p = 0; p < options.patients; p++) {
      await repo.transaction(async (tx) => {
        for (const resource of syntheaShapedPatient(p, options)) await tx.update(resource);
      });
      process.stderr.write(`\rloaded ${p + 1} patients`);
    }
    process.stderr.write(`\nloaded ${expected} resources in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  await statistics?.settled();
  return repo;
}

/** The scenario's report (markdown lines). */
export async function usCoreScenario(db: Database, conformance: Conformance, kind: string): Promise<string[]> {
  const options = usCoreOptions();
  const repo = await load(db, conformance, options);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const iterations = Number(process.env.BENCH_ITERATIONS ?? 500);
  const [{ version }] = await db.query<{ version: string }>('SELECT version()');
  const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM resource');
  const [load1] = (await import('node:os')).loadavg();
  const lines = [
    `${kind}: ${version.split(' on ')[0]}, ${n} resources (${options.patients} Synthea-shaped patients, ${LONG_HISTORY_PATIENT} with 800 Observations), in-process; load average at start ${load1.toFixed(1)}; median of ${runs} runs, ${iterations} requests at ${CLIENTS} clients each`,
    '',
    '| search (long-history patient) | page | 1 client p50 ms | 10 clients p99 ms | plan driven from the patient |',
    '|---|---|---|---|---|',
  ];
  const cases: { name: string; page: string; input: SearchInput }[] = [];
  for (const s of usCorePatientSearches(LONG_HISTORY_PATIENT)) {
    const name = `${s.resourceType}?${s.params.map(([k, v]) => `${k}=${v}`).join('&')}`;
    cases.push({ name, page: 'first', input: input(s.resourceType, s.params) });
    const cursor = nextCursor(await searchResources(conformance, repo, input(s.resourceType, s.params)));
    if (cursor) cases.push({ name, page: 'next', input: input(s.resourceType, [...s.params, ['_cursor', cursor]]) });
    cases.push({ name, page: '_summary=count', input: input(s.resourceType, [...s.params, ['_summary', 'count']]) });
  }
  const results = cases.map(() => ({ single: [] as number[], p99: [] as number[] }));
  const paging: number[] = [];
  for (let run = 0; run < runs; run++) {
    for (const [i, c] of cases.entries()) {
      const { single, p99 } = await latencies(async () => {
        await searchResources(conformance, repo, c.input);
      }, iterations);
      results[i].single.push(single);
      results[i].p99.push(p99);
    }
    // Every Observation of the long-history patient, 20 a page, following next links.
    const t0 = performance.now();
    const filters: [string, string][] = [['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory,vital-signs']];
    let params = filters;
    let pages = 0;
    for (;;) {
      const bundle = await searchResources(conformance, repo, input('Observation', params));
      pages++;
      const cursor = nextCursor(bundle);
      if (!cursor) break;
      params = [...filters, ['_cursor', cursor]];
    }
    paging.push(performance.now() - t0);
    process.stderr.write(`run ${run + 1} of ${runs} done (${pages} pages of Observations)\n`);
  }
  for (const [i, c] of cases.entries()) {
    const plan = await explainSearch(conformance, repo, c.input);
    // From the patient's reference rows, or a combination key holding the patient (patient-category, patient-code).
    const driven = /on sp_reference d\b|using sp_composite_value on sp_composite d\b/.test(plan) && !NOT_PATIENT_DRIVEN.test(plan);
    lines.push(`| ${c.name} | ${c.page} | ${median(results[i].single).toFixed(2)} | ${median(results[i].p99).toFixed(2)} | ${driven ? 'yes' : '**no**'} |`);
  }
  lines.push('', `Paging all ${options.longHistoryObservations} laboratory and vital-sign Observations of ${LONG_HISTORY_PATIENT} in pages of 20 (one client): ${median(paging).toFixed(0)} ms (median of ${runs}; runs ${paging.map((t) => t.toFixed(0)).join(', ')} ms)`);
  return lines;
}
