/**
 * Pathological searches at scale (issue 20, "Load and limits"): `kanplan serve` on a large
 * PostgreSQL schema answers plain reads from a few clients, first alone and then while more
 * clients than there are costly-search slots keep sending the searches that cost a scan —
 * a leading-wildcard `:contains` over every Observation, deep `_include:iterate`/`_revinclude`
 * chains, `_sort` on an expression with no ordered index. Those must be answered with a clear
 * OperationOutcome (422 too-costly after SEARCH_TIMEOUT_MS, 503 with Retry-After once the
 * COSTLY_SEARCH_CONCURRENCY slots are taken, or their result) and never 5xx, while the reads keep
 * their p99.
 *
 *   npm run bench:pathological -- [--schema reliab_search_550k] [--build-from bench_export_10000 --resources 550000]
 *                                 [--seconds 60] [--readers 4] [--attackers 8] [--timeout-ms 15000] [--slots N]
 *
 * --slots: COSTLY_SEARCH_CONCURRENCY; without it the server's default (half the cores, at least 1).
 *
 * --build-from makes the schema first from a loaded bench:export schema (bench/pathological/scaled-copy.ts);
 * the source is only read. The server runs with AUDIT=false so that it writes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueAccessToken, loadOrCreateSigningKey } from '../src/auth/signing-key.ts';
import { option } from './bench-database.ts';
import { send, type Api } from './crash/workload.ts';
import { startKanplan } from './load/processes.ts';
import { buildScaledCopy } from './pathological/scaled-copy.ts';

const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = option('--schema', 'reliab_search_550k');
const buildFrom = option('--build-from', '');
const seconds = Number(option('--seconds', '60'));
const readers = Number(option('--readers', '4'));
const attackers = Number(option('--attackers', '8'));
const timeoutMs = option('--timeout-ms', '15000');
const slots = option('--slots', '');
const ISSUER = 'https://kanplan.test/pathological';

/** The searches of the issue: each scans every row of a type or more. */
export const PATHOLOGICAL: Record<string, string> = {
  'contains over every Observation': 'Observation?value-string:contains=zqxjv&_count=100',
  'deep _include:iterate': 'Patient?_count=1000&_revinclude=CarePlan:subject&_include:iterate=CarePlan:goal&_include:iterate=CarePlan:care-team&_include:iterate=CareTeam:participant&_revinclude:iterate=Observation:subject&_revinclude:iterate=Provenance:target',
  '_sort on an unindexed expression': 'Observation?_sort=-value-string,date&_count=100',
};

if (buildFrom) {
  const built = await buildScaledCopy(url, buildFrom, schema, Number(option('--resources', '550000')), (line) => console.log(line));
  console.log(`built ${schema}: ${built.resources} resources (${built.copies} copies of ${buildFrom}) in ${built.seconds} s`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kanplan-pathological-'));
const keyFile = path.join(dir, 'signing-key.json');
const token = await issueAccessToken(await loadOrCreateSigningKey(keyFile), { scope: 'system/*.cruds', subject: 'pathological', issuer: ISSUER, audience: ISSUER, expiresIn: '12h' });
const server = await startKanplan({
  DATABASE_URL: `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
  DATA_DIR: path.join(dir, 'data'),
  AUTH_KEY_FILE: keyFile,
  AUTH_ISSUER: ISSUER,
  AUTH_AUDIENCE: ISSUER,
  AUDIT: 'false',
  SEARCH_TIMEOUT_MS: timeoutMs,
  ...(slots ? { COSTLY_SEARCH_CONCURRENCY: slots } : {}),
});
const api: Api = { url: server.url, token };

const round = (n: number) => Math.round(n * 10) / 10;
const quantile = (sorted: readonly number[], q: number) => (sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]) : NaN);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const serverErrors: string[] = [];

/** An answer, or the connection error as status 0 (recorded: the server must stay up and answer). */
async function ask(path: string): Promise<{ status: number; json: any }> {
  try {
    return await send(api, 'GET', path);
  } catch (err) {
    serverErrors.push(`${path.slice(0, 80)}: no answer: ${String((err as Error).cause ?? err)}`);
    console.log(`no answer (server alive: ${fs.existsSync(`/proc/${server.pid}`)}): ${serverErrors.at(-1)}`);
    return { status: 0, json: undefined };
  }
}

const observations = (await send(api, 'GET', 'Observation?_summary=count')).json?.total as number | undefined;
const patients = ((await send(api, 'GET', 'Patient?_count=500&_elements=id')).json.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id) as string[];
if (patients.length === 0) throw new Error(`no Patients in schema ${schema}`);
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)];

/** Plain reads: a Patient by id, and one person's Observations (indexed, one page). */
async function readLoop(until: number, latencies: number[], failures: string[]): Promise<void> {
  while (performance.now() < until) {
    const patient = pick(patients);
    const path = Math.random() < 0.5 ? `Patient/${patient}` : `Observation?patient=Patient/${patient}&_count=20`;
    const t0 = performance.now();
    const answer = await ask(path);
    latencies.push(performance.now() - t0);
    if (answer.status !== 200) failures.push(`${path}: ${answer.status} ${String(JSON.stringify(answer.json)).slice(0, 200)}`);
    if (answer.status >= 500) serverErrors.push(`${path}: ${answer.status}`);
  }
}

interface Attack {
  readonly statuses: Record<string, number>;
  readonly ms: number[];
  readonly examples: Record<string, string>;
}
const attacks: Record<string, Attack> = Object.fromEntries(Object.keys(PATHOLOGICAL).map((name) => [name, { statuses: {}, ms: [], examples: {} }]));

async function attackLoop(until: number, offset: number): Promise<void> {
  const names = Object.keys(PATHOLOGICAL);
  for (let i = offset; performance.now() < until; i++) {
    const name = names[i % names.length];
    const t0 = performance.now();
    const answer = await ask(PATHOLOGICAL[name]);
    const attack = attacks[name];
    attack.ms.push(performance.now() - t0);
    attack.statuses[answer.status] = (attack.statuses[answer.status] ?? 0) + 1;
    if (answer.status !== 200) attack.examples[answer.status] ??= String(answer.json?.issue?.[0]?.diagnostics ?? JSON.stringify(answer.json)).slice(0, 300);
    if (answer.status >= 500 && answer.status !== 503) serverErrors.push(`${name}: ${answer.status} ${String(JSON.stringify(answer.json)).slice(0, 300)}`);
    // A client told to retry later waits as told (Retry-After: 2), as a well-behaved one would — at most briefly here, to keep the pressure on.
    if (answer.status === 503) await sleep(250);
  }
}

async function phase(withAttack: boolean): Promise<{ n: number; p50: number; p99: number; max: number; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all([
    ...Array.from({ length: readers }, () => readLoop(until, latencies, failures)),
    ...(withAttack ? Array.from({ length: attackers }, (_, i) => attackLoop(until, i)) : []),
  ]);
  const sorted = latencies.sort((a, b) => a - b);
  return { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: round(sorted.at(-1) ?? NaN), failures };
}

// Warm the caches the reads use, then measure reads alone, under attack, and alone again.
await phase(false).catch(() => undefined);
const load = () => os.loadavg().map(round).join(' ');
const before = { ...(await phase(false)), load: load() };
const during = { ...(await phase(true)), load: load() };
const after = { ...(await phase(false)), load: load() };
const alive = fs.existsSync(`/proc/${server.pid}`);
await server.stop();
fs.rmSync(dir, { recursive: true, force: true });

console.log(JSON.stringify({ schema, observations, serverAlive: alive, seconds, readers, attackers, SEARCH_TIMEOUT_MS: timeoutMs, COSTLY_SEARCH_CONCURRENCY: slots || 'default' }));
for (const [name, reads] of Object.entries({ 'reads alone': before, 'reads under attack': during, 'reads after': after })) {
  console.log(`${name}: n ${reads.n}, p50 ${reads.p50} ms, p99 ${reads.p99} ms, max ${reads.max} ms, not 200: ${reads.failures.length} (load ${reads.load})`);
}
for (const [name, attack] of Object.entries(attacks)) {
  const sorted = attack.ms.sort((a, b) => a - b);
  console.log(`${name}: ${JSON.stringify(attack.statuses)}; answered in p50 ${quantile(sorted, 0.5)} ms, max ${round(sorted.at(-1) ?? NaN)} ms`);
  for (const [status, text] of Object.entries(attack.examples)) console.log(`  ${status}: ${text}`);
}
for (const failure of [...before.failures, ...during.failures, ...after.failures].slice(0, 10)) console.log(`READ FAILED ${failure}`);
for (const error of serverErrors.slice(0, 10)) console.log(`SERVER ERROR ${error}`);
process.exit(serverErrors.length || during.failures.length ? 1 : 0);
