/**
 * Search benchmark (issue 4): loads fictional members (Patient, PCSP/BSP/ISP CarePlans, Goals,
 * ServiceRequests, Tasks) through the Repository — so index rows are written exactly as in
 * production — then runs the four issue query shapes with 10 concurrent clients, in-process and
 * over HTTP (clients in a worker thread), and compares their latency with a primary-key SELECT
 * and a read by id in the same run.
 *
 *   node bench/search-bench.ts pglite [resources=100000]
 *   node bench/search-bench.ts postgres [resources=100000]   # uses BENCH_DATABASE_URL, schema bench_search
 *   node bench/search-bench.ts pglite|postgres us-core       # US Core per-patient searches (bench/search/us-core.ts)
 */
import { performance } from 'node:perf_hooks';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadConformance } from '../src/conformance/conformance.ts';
import { createSearchIndexParticipant, explainSearch, reindex, searchResources, type SearchInput } from '../src/search/index.ts';
import { openDatabase, type Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import type { Repository } from '../src/store/repository.ts';
import { SqlRepository } from '../src/store/sql-repository.ts';
import { startKanplan } from './load/processes.ts';
import { CLIENTS, measure } from './search/measure.ts';
import { measureOverHttp, warmUpOverHttp } from './search/over-http.ts';
import { usCoreScenario } from './search/us-core.ts';

const BASE = 'http://localhost:8080/fhir';
const conformance = loadConformance();
const PER_MEMBER = 10;
const PRACTITIONERS = 100;

const kind = process.argv[2] === 'postgres' ? 'postgres' : 'pglite';
/** `us-core`: the US Core per-patient searches on Synthea-shaped data, in their own data set. */
const usCore = process.argv[3] === 'us-core';
const target = usCore ? 0 : Number(process.argv[3] ?? 100_000);
const members = Math.ceil((target - PRACTITIONERS) / PER_MEMBER);

function plan(m: number, code: string, status: string): Resource & { id: string } {
  return {
    resourceType: 'CarePlan', id: `cp-${code}-${m}`, status, intent: 'plan',
    subject: { reference: `Patient/m${m}` },
    category: [{ coding: [{ system: 'urn:ks:plan', code }] }],
    period: { start: `2025-0${(m % 9) + 1}-01` },
    goal: [{ reference: `Goal/g1-${m}` }, { reference: `Goal/g2-${m}` }],
  } as Resource & { id: string };
}

/** The ten resources of one fictional member. */
function member(m: number): (Resource & { id: string })[] {
  const pr = (k: number): string => `Practitioner/pr${(m * 7 + k) % PRACTITIONERS}`;
  const statuses = ['requested', 'in-progress', 'completed'];
  return [
    { resourceType: 'Patient', id: `m${m}`, identifier: [{ system: 'urn:ks:mco', value: `M${m}` }], name: [{ family: `Member${m}`, given: ['Test'] }], birthDate: `19${40 + (m % 50)}-01-01` },
    plan(m, 'pcsp', m % 5 === 0 ? 'draft' : 'active'),
    plan(m, 'bsp', 'active'),
    plan(m, 'isp', m % 3 === 0 ? 'completed' : 'active'),
    { resourceType: 'Goal', id: `g1-${m}`, lifecycleStatus: 'active', subject: { reference: `Patient/m${m}` }, description: { text: 'Live at home' } },
    { resourceType: 'Goal', id: `g2-${m}`, lifecycleStatus: 'proposed', subject: { reference: `Patient/m${m}` }, description: { text: 'Work part time' } },
    { resourceType: 'ServiceRequest', id: `sr1-${m}`, status: 'active', intent: 'order', subject: { reference: `Patient/m${m}` }, requester: { reference: pr(0) }, basedOn: [{ reference: `CarePlan/cp-pcsp-${m}` }], code: { coding: [{ system: 'urn:ks:service', code: 'personal-care' }] } },
    { resourceType: 'ServiceRequest', id: `sr2-${m}`, status: 'active', intent: 'order', subject: { reference: `Patient/m${m}` }, requester: { reference: pr(1) }, basedOn: [{ reference: `CarePlan/cp-pcsp-${m}` }], code: { coding: [{ system: 'urn:ks:service', code: 'home-modification' }] } },
    { resourceType: 'Task', id: `t1-${m}`, status: statuses[m % 3], intent: 'order', focus: { reference: `CarePlan/cp-pcsp-${m}` }, for: { reference: `Patient/m${m}` }, owner: { reference: pr(2) } },
    { resourceType: 'Task', id: `t2-${m}`, status: statuses[(m + 1) % 3], intent: 'order', focus: { reference: `CarePlan/cp-isp-${m}` }, for: { reference: `Patient/m${m}` }, owner: { reference: pr(3) } },
  ] as (Resource & { id: string })[];
}

const PGLITE_DIR = process.env.BENCH_DATA_DIR ?? (usCore ? '.tmp/bench-us-core-pglite' : '.tmp/bench-search-pglite');
const PG_SCHEMA = usCore ? 'bench_us_core' : 'bench_search';
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pgSearchPath = (url: string): string => `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${PG_SCHEMA}`)}`;

/** Environment of `kanplan serve` on the benchmark's data. */
function serverEnv(): Record<string, string> {
  const env: Record<string, string> = { AUTH_MODE: 'off', AUTH_KEY_FILE: '.tmp/bench-key.json' };
  if (kind === 'postgres') {
    env.DATABASE_URL = pgSearchPath(PG_URL);
  } else {
    env.DATA_DIR = PGLITE_DIR;
  }
  return env;
}

async function open(): Promise<Database> {
  if (kind === 'pglite') {
    return openDatabase({ dataDir: PGLITE_DIR });
  }
  const admin = await openDatabase({ databaseUrl: PG_URL, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
  await admin.close();
  return openDatabase({ databaseUrl: pgSearchPath(PG_URL), maxConnections: CLIENTS });
}

async function load(db: Database, repo: Repository): Promise<void> {
  const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM resource');
  if (Number(n) >= target) {
    process.stderr.write(`reusing ${n} resources\n`);
    // A data set loaded before the search parameters changed (e.g. a new combination index) is
    // reindexed; vacuumed and analyzed either way, as after a load (a migration may have added indexes).
    const done = await reindex(db, conformance.searchParameters, { baseUrl: BASE });
    process.stderr.write(done ? `reindexed ${done} resources\n` : '');
    await db.exec('VACUUM ANALYZE');
    return;
  }
  const started = performance.now();
  for (let p = 0; p < PRACTITIONERS; p++) {
    await repo.update({ resourceType: 'Practitioner', id: `pr${p}`, name: [{ family: `Coordinator${p}` }] } as Resource & { id: string });
  }
  const loaders = kind === 'postgres' ? 4 : 1;
  let next = 0;
  await Promise.all(
    Array.from({ length: loaders }, async () => {
      while (next < members) {
        const m = next++;
        await repo.transaction(async (tx) => {
          for (const resource of member(m)) {
            await tx.update(resource);
          }
        });
        if (m % 1000 === 0) {
          const rate = ((m + 1) * PER_MEMBER) / ((performance.now() - started) / 1000);
          process.stderr.write(`\rloaded ${(m + 1) * PER_MEMBER} resources (${rate.toFixed(0)}/s)   `);
        }
      }
    }),
  );
  await db.exec('VACUUM ANALYZE');
  process.stderr.write(`\nloaded ${members * PER_MEMBER + PRACTITIONERS} resources in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}

function input(resourceType: string, params: [string, string][]): SearchInput {
  return { resourceTypes: [resourceType], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 };
}

const rand = (n: number): number => Math.floor(Math.random() * n);

const QUERIES: { name: string; make: () => SearchInput; check: (b: Bundle) => boolean }[] = [
  {
    name: 'CarePlan?subject=Patient/x&category=urn:ks:plan|bsp&status=active',
    make: () => input('CarePlan', [['subject', `Patient/m${rand(members)}`], ['category', 'urn:ks:plan|bsp'], ['status', 'active']]),
    check: (b) => b.entry?.length === 1,
  },
  {
    name: 'Task?owner=Practitioner/x&status=requested&_sort=-_lastUpdated',
    make: () => input('Task', [['owner', `Practitioner/pr${rand(PRACTITIONERS)}`], ['status', 'requested'], ['_sort', '-_lastUpdated']]),
    check: (b) => (b.entry?.length ?? 0) > 0,
  },
  {
    name: 'ServiceRequest?patient=x&_include=ServiceRequest:requester',
    make: () => input('ServiceRequest', [['patient', `m${rand(members)}`], ['_include', 'ServiceRequest:requester']]),
    check: (b) => (b.entry?.length ?? 0) >= 3,
  },
  {
    name: 'CarePlan?subject:Patient.identifier=urn:ks:mco|Mx (chained)',
    make: () => input('CarePlan', [['subject:Patient.identifier', `urn:ks:mco|M${rand(members)}`]]),
    check: (b) => b.entry?.length === 3,
  },
];

/**
 * JSON.parse throughput of a 1 MB document, to compare machines between runs (../shared/measurements.md
 * measured 203 MB/s on the reference machine); the sandbox's speed varies between sessions.
 */
function machineSpeed(): string {
  const doc = JSON.stringify(Array.from({ length: 4000 }, (_, i) => member(i)[1]));
  const rounds = 30;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    JSON.parse(doc);
  }
  const mbPerSecond = (doc.length * rounds) / 1048576 / ((performance.now() - t0) / 1000);
  return `JSON.parse ${mbPerSecond.toFixed(0)} MB/s`;
}

const TABLE_HEAD = ['| query | 1 client p50 ms | 10 clients q/s | p50 ms | p99 ms |', '|---|---|---|---|---|'];

/** The REST path of a search: `/Type?params`. */
function requestPath(input: SearchInput): string {
  return `/${input.resourceTypes[0]}?${new URLSearchParams(input.params.map(([n, v]) => [n, v])).toString()}`;
}

async function main(): Promise<void> {
  const db = await open();
  await migrate(db);
  if (usCore) {
    const lines = await usCoreScenario(db, conformance, kind);
    await db.close();
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  const repo = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: BASE })] });
  await load(db, repo);
  const [{ version }] = await db.query<{ version: string }>('SELECT version()');
  const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM resource');
  const [load1] = (await import('node:os')).loadavg();
  const lines = [`${kind}: ${version.split(' on ')[0]}, ${n} resources, in-process; machine load average at start ${load1.toFixed(1)} (2 cores, shared); ${machineSpeed()}`, '', ...TABLE_HEAD];
  const iterations = Number(process.env.BENCH_ITERATIONS ?? 2000);
  // Steady state first: V8 compiles PGlite's WebAssembly with its baseline compiler and optimizes
  // hot functions only after many calls, which the first few hundred searches pay for.
  const warmup = Number(process.env.BENCH_WARMUP ?? 2000);
  for (let i = 0; i < warmup; i++) {
    await searchResources(conformance, repo, QUERIES[i % QUERIES.length].make());
  }
  lines.push(
    await measure('baseline: SELECT content FROM resource WHERE (resource_type, id) = PK', iterations, async () => {
      await db.query('SELECT content FROM resource WHERE resource_type = $1 AND id = $2', ['CarePlan', `cp-pcsp-${rand(members)}`]);
    }),
  );
  for (const query of QUERIES) {
    const bundle = await searchResources(conformance, repo, query.make());
    if (!query.check(bundle)) {
      throw new Error(`${query.name} returned an unexpected result: ${JSON.stringify(bundle).slice(0, 300)}`);
    }
    lines.push(
      await measure(query.name, iterations, async () => {
        await searchResources(conformance, repo, query.make());
      }),
    );
  }
  const plans = ['', 'Plans:'];
  for (const query of QUERIES) {
    const plan = await explainSearch(conformance, repo, query.make());
    plans.push('', `${query.name}: ${/Seq Scan on resource\b/.test(plan) ? 'SEQ SCAN OF resource' : 'no sequential scan of resource'}`, '```', plan, '```');
  }
  await db.close();

  // The same queries over HTTP: `kanplan serve` in its own process on the same data (auth off),
  // autocannon from this one, as in bench/load.
  const server = await startKanplan(serverEnv());
  try {
    lines.push('', `Over HTTP (kanplan serve in its own process, autocannon with ${CLIENTS} connections from this one, keep-alive):`, '', ...TABLE_HEAD);
    // A new process: the same steady-state warm-up as in-process, over HTTP.
    await warmUpOverHttp(server.url, warmup, () => requestPath(QUERIES[rand(QUERIES.length)].make()));
    lines.push(await measureOverHttp('baseline: GET /CarePlan/{id} (read)', server.url, iterations, () => `/CarePlan/cp-pcsp-${rand(members)}`));
    for (const query of QUERIES) {
      lines.push(await measureOverHttp(query.name, server.url, iterations, () => requestPath(query.make())));
    }
  } finally {
    await server.stop();
  }
  process.stdout.write(`${[...lines, ...plans].join('\n')}\n`);
}

await main();
