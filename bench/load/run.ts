/**
 * Load benchmark (issue 7): kanplan against the physical ceiling and a peer, in one run.
 *
 *   npm run bench -- --size 1000 --db pglite|postgres [--duration 5]
 *   npm run bench -- --smoke          # every scenario on a tiny dataset (part of the test suite)
 *
 * Servers run in child processes; autocannon drives them over loopback from this process.
 * Results: a markdown table on stdout, appended to bench/RESULTS.md unless --smoke.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { issueAccessToken, loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { openDatabase } from '../../src/store/database.ts';
import { readProfileIn, topCosts, type CpuCost } from './cpu-profile.ts';
import { datasetIds, exportAll, loadDataset, type DatasetIds } from './dataset.ts';
import { startKanplan, startScript, type ServerProcess } from './processes.ts';
import { importBundles } from './bundle-import.ts';
import { IMPORT, MIXED, READ_AND_SEARCH, WRITES, type Scenario } from './scenarios.ts';
import { syntheaPatientBundles } from './synthea-bundles.ts';

interface Options {
  readonly size: number;
  readonly db: 'pglite' | 'postgres';
  readonly durationSeconds: number;
  readonly smoke: boolean;
}

export interface Row {
  readonly scenario: string;
  readonly target: string;
  readonly connections: number;
  readonly requests: number;
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** Transaction imports: resources written per second (their rows' req/s counts bundles). */
  readonly resourcesPerSec?: number;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  return {
    smoke,
    size: Number(value('--size') ?? (smoke ? 2 : 1000)),
    db: value('--db') === 'postgres' ? 'postgres' : 'pglite',
    durationSeconds: Number(value('--duration') ?? (smoke ? 1 : 5)),
  };
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
// Per process: the smoke run inside `npm test` may overlap a full run started by hand.
const work = path.join(root, '.tmp', `bench-load-${process.pid}`);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_SCHEMA = 'bench_load';

async function resetPostgresSchema(): Promise<void> {
  const admin = await openDatabase({ databaseUrl: PG_URL, maxConnections: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE; CREATE SCHEMA ${PG_SCHEMA}`);
  await admin.close();
}

function kanplanEnv(options: Options): Record<string, string> {
  const env: Record<string, string> = { AUTH_KEY_FILE: path.join(work, 'signing-key.json'), DATA_DIR: path.join(work, 'data') };
  if (options.db === 'postgres') {
    env.DATABASE_URL = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${PG_SCHEMA}`)}`;
  }
  return env;
}

/**
 * How long one measurement runs: a time, or (the smoke run) a number of requests, so that a slow
 * or busy machine makes the smoke run slower, never empty (no timed assertion in `npm test`).
 */
type MeasureLength = { readonly seconds: number } | { readonly requests: number };

function lengthOf(options: Options, connections: number): MeasureLength {
  return options.smoke ? { requests: Math.max(10, connections * 4) } : { seconds: options.durationSeconds };
}

async function measure(scenario: Scenario, target: string, baseUrl: string, ids: DatasetIds, connections: number, length: MeasureLength, token?: string): Promise<Row> {
  const result = await autocannon({
    url: baseUrl,
    connections,
    ...('requests' in length ? { amount: length.requests } : { duration: length.seconds }),
    headers: token ? { authorization: `Bearer ${token}` } : {},
    requests: [
      {
        setupRequest: (request) => {
          const next = scenario.next(ids);
          return {
            ...request,
            method: next.method,
            path: `${new URL(baseUrl).pathname.replace(/\/$/, '')}${next.path}`,
            body: next.body,
            headers: { ...request.headers, ...(next.contentType ? { 'content-type': next.contentType } : {}) },
          };
        },
      },
    ],
  });
  return {
    scenario: scenario.name,
    target,
    connections,
    requests: result.requests.total,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** Patient bundles imported at once: a few hospital feeds at a time, as a 2-core server serves them. */
const BUNDLE_CLIENTS = 4;

const BASELINE: Scenario = { name: 'GET 3 KB JSON', peer: false, connections: [50], next: () => ({ method: 'GET', path: '/' }) };

/** The CPU profile of kanplan serving the scenario with the lowest throughput. */
export interface SlowestScenarioProfile {
  readonly scenario: string;
  readonly connections: number;
  readonly costs: readonly CpuCost[];
}

export async function runBenchmark(options: Options): Promise<{ rows: Row[]; notes: string[]; profile: SlowestScenarioProfile }> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  if (options.db === 'postgres') await resetPostgresSchema();
  const rows: Row[] = [];
  const notes: string[] = [];
  const note = (text: string): void => {
    notes.push(text);
    process.stderr.write(`${text}\n`);
  };
  const run = async (scenario: Scenario, target: string, url: string, ids: DatasetIds, token?: string): Promise<void> => {
    for (const connections of options.smoke ? scenario.connections.slice(0, 1) : scenario.connections) {
      const row = await measure(scenario, target, url, ids, connections, lengthOf(options, connections), token);
      rows.push(row);
      // As measured, so a long run that fails later still leaves its figures in the log.
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  };
  const empty: DatasetIds = { patients: [], carePlans: [], owners: [], medicaidIds: [] };

  for (const kind of ['express', 'node-http']) {
    const baseline = await startScript('bench/load/baseline-server.ts', [kind]);
    await run(BASELINE, `baseline ${kind}`, baseline.url, empty);
    await baseline.stop();
  }

  const env = kanplanEnv(options);
  const first = await startKanplan(env);
  note(`kanplan first start (new ${options.db} database): ${first.startupMs} ms, RSS ${first.rssMiB()} MiB`);
  const key = await loadOrCreateSigningKey(env.AUTH_KEY_FILE);
  // Issuer and audience default to the server's BASE_URL, which has a new port at each start.
  const tokenFor = (url: string): Promise<string> =>
    issueAccessToken(key, { scope: 'system/*.cruds', subject: 'bench', issuer: url, audience: url, expiresIn: '4h' });
  const loadStarted = performance.now();
  await loadDataset(first.url, await tokenFor(first.url), options.size, (done) => {
    if (done % 500 === 0) process.stderr.write(`loaded ${done} of ${options.size} members (${((performance.now() - loadStarted) / 1000).toFixed(0)} s)\n`);
  });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  note(`dataset: ${options.size} members loaded through $import-document in ${loadSeconds.toFixed(1)} s`);
  await first.stop();

  const server: ServerProcess = await startKanplan(env);
  note(`kanplan start on the existing database: ${server.startupMs} ms, RSS after start ${server.rssMiB()} MiB`);
  const token = await tokenFor(server.url);
  const ids = await datasetIds(server.url, token, options.size);
  const resources = await exportAll(server.url, token);
  note(`dataset: ${resources.length} resources (${ids.patients.length} patients, ${ids.carePlans.length} care plans)`);

  for (const scenario of READ_AND_SEARCH) await run(scenario, 'kanplan', server.url, ids, token);
  for (const scenario of WRITES) await run(scenario, 'kanplan', server.url, ids, token);
  await run(IMPORT, 'kanplan', server.url, ids, token);
  await run(MIXED, 'kanplan', server.url, ids, token);
  const bundles = syntheaPatientBundles(options.smoke ? 2 : 12);
  note(`Synthea-style patient bundles: ${bundles.length}, ${bundles.map((b) => b.entries).join(', ')} entries (${bundles.reduce((sum, b) => sum + b.entries, 0)} resources), imported by ${BUNDLE_CLIENTS} clients`);
  const importRow = async (url: string, target: string, bearer?: string): Promise<void> => {
    const row = await importBundles(url, bundles, BUNDLE_CLIENTS, target, bearer);
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  };
  await importRow(server.url, 'kanplan', token);
  note(`kanplan RSS after the run: ${server.rssMiB()} MiB`);
  await server.stop();
  const profile = await profileSlowestScenario(options, env, rows, ids, tokenFor);

  const datasetFile = path.join(work, 'dataset.ndjson');
  // One line at a time: at 10k members the whole data set is longer than a V8 string may be.
  const out = openSync(datasetFile, 'w');
  for (const resource of resources) writeSync(out, `${JSON.stringify(resource)}\n`);
  closeSync(out);
  const peer = await startScript('bench/load/peer-server.ts', [datasetFile]);
  note(`peer (@medplum/fhir-router MemoryRepository) loaded in ${peer.startupMs} ms, RSS ${peer.rssMiB()} MiB`);
  for (const scenario of READ_AND_SEARCH.filter((s) => s.peer)) await run(scenario, 'peer', `${peer.url}/fhir`, ids);
  await peer.stop();
  // The writes on a peer of their own: one still working through the searches it was sent (it
  // scans) answers nothing else within a run.
  const writingPeer = await startScript('bench/load/peer-server.ts', [datasetFile]);
  for (const scenario of WRITES) await run(scenario, 'peer', `${writingPeer.url}/fhir`, ids);
  await importRow(`${writingPeer.url}/fhir`, 'peer');
  await writingPeer.stop();
  rmSync(work, { recursive: true, force: true });
  return { rows, notes, profile };
}

/**
 * Runs the kanplan scenario with the lowest req/s once more, at its highest connection count, on
 * a server started with `--cpu-prof`, and returns the top five costs by self time.
 */
async function profileSlowestScenario(
  options: Options,
  env: Record<string, string>,
  rows: readonly Row[],
  ids: DatasetIds,
  tokenFor: (url: string) => Promise<string>,
): Promise<SlowestScenarioProfile> {
  const scenarios = [...READ_AND_SEARCH, ...WRITES, IMPORT, MIXED];
  // Of the autocannon scenarios (a bundle import's req/s counts bundles of hundreds of entries).
  const slowest = rows.filter((row) => row.target === 'kanplan' && row.resourcesPerSec === undefined).reduce((a, b) => (b.reqPerSec < a.reqPerSec ? b : a));
  const scenario = scenarios.find((s) => s.name === slowest.scenario) as Scenario;
  const connections = Math.max(...rows.filter((row) => row.target === 'kanplan' && row.scenario === scenario.name).map((row) => row.connections));
  const dir = path.join(work, 'cpu-profile');
  const server = await startKanplan(env, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  await measure(scenario, 'kanplan', server.url, ids, connections, lengthOf(options, connections), await tokenFor(server.url));
  // The profile is written when the process exits.
  await server.stop();
  return { scenario: scenario.name, connections, costs: topCosts(readProfileIn(dir), 5) };
}

export function formatProfile(profile: SlowestScenarioProfile): string {
  return [
    `CPU profile of kanplan (\`--cpu-prof\`) during the slowest scenario, ${profile.scenario} at ${profile.connections} connections: top five costs by self time (share of the busy time, start-up included).`,
    '',
    '| function | self ms | share |',
    '|---|---|---|',
    ...profile.costs.map((cost) => `| ${cost.frame.replaceAll('|', '\\|')} | ${cost.selfMs} | ${(cost.share * 100).toFixed(1)}% |`),
  ].join('\n');
}

export function formatTable(rows: readonly Row[]): string {
  const express = rows.find((r) => r.target === 'baseline express')?.reqPerSec ?? 0;
  const peerOf = (row: Row): Row | undefined => rows.find((r) => r.target === 'peer' && r.scenario === row.scenario && r.connections === row.connections);
  const lines = [
    '| scenario | server | conn. | req/s | resources/s | p50 ms | p99 ms | errors | vs express | vs peer |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((row) => {
      const peer = row.target === 'kanplan' ? peerOf(row) : undefined;
      // Imports compare resources written per second; the other scenarios requests per second.
      const rate = (r: Row): number => r.resourcesPerSec ?? r.reqPerSec;
      const vsPeer = !peer ? '-' : peer.requests === 0 ? 'peer gave no answer in the run' : `${(rate(row) / Math.max(rate(peer), 1)).toFixed(2)}x`;
      const vsExpress = express && row.resourcesPerSec === undefined ? (row.reqPerSec / express).toFixed(2) : '-';
      return `| ${row.scenario} | ${row.target} | ${row.connections} | ${row.reqPerSec} | ${row.resourcesPerSec ?? '-'} | ${row.p50} | ${row.p99} | ${row.errors} | ${vsExpress} | ${vsPeer} |`;
    }),
  ];
  return lines.join('\n');
}

if (import.meta.main) {
  const options = parseOptions(process.argv.slice(2));
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`;
  const { rows, notes, profile } = await runBenchmark(options);
  const section = [
    `## Load benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (${options.db}, ${options.size} members)`,
    '',
    `Command: \`${command}\`. Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average at end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}; node ${process.version}; ${options.durationSeconds} s per measurement; autocannon in the benchmark process, each server in its own process.`,
    '',
    ...notes.map((note) => `- ${note}`),
    '',
    formatTable(rows),
    '',
    formatProfile(profile),
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (!options.smoke) appendFileSync(path.join(root, 'bench', 'RESULTS.md'), `\n${section}`);
}
