/**
 * Soak (issue 20, "Load and limits"): `kanplan serve` in its own process on a database of its own,
 * under a steady mixed load for a given time — reads by id, searches, updates, creates and PCSP
 * document imports from a few closed-loop clients. Every 10 s the server's RSS (VmRSS) and open
 * file descriptors (/proc/PID/fd) are sampled. Reports p50/p99 and RSS for the first and the last
 * five minutes (flatness is the point: a leak shows as growth between them), every answer that is
 * not the expected one (must be 0), and the descriptor count first/last.
 *
 *   npm run bench:soak -- --db postgres|pglite --minutes 30 [--clients 4] [--out FILE]
 *
 * PostgreSQL: a new database on BENCH_DATABASE_URL (admin connection, default the local server's
 * `postgres` database), dropped at the end. Exit 1 when any error answer was seen.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueAccessToken, loadOrCreateSigningKey } from '../src/auth/signing-key.ts';
import { option } from './bench-database.ts';
import { databaseFor } from './crash/campaign.ts';
import { documentFor, send, type Api } from './crash/workload.ts';
import { startKanplan } from './load/processes.ts';

const kind = option('--db', 'pglite') === 'postgres' ? 'postgres' : 'pglite';
const minutes = Number(option('--minutes', '30'));
const clients = Number(option('--clients', '4'));
const out = option('--out', '');
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ISSUER = 'https://kanplan.test/soak';
const WINDOW_MS = Math.min(5, minutes / 3) * 60_000;

interface Sample {
  readonly at: number;
  readonly kind: string;
  readonly ms: number;
}
interface Resources {
  readonly at: number;
  readonly rssMiB: number;
  readonly fds: number;
}

const fdsOf = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;
const quantile = (sorted: readonly number[], q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
const round = (n: number) => Math.round(n * 10) / 10;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kanplan-soak-'));
const database = await databaseFor({ kind, adminUrl }, dir);
const keyFile = path.join(dir, 'signing-key.json');
const token = await issueAccessToken(await loadOrCreateSigningKey(keyFile), { scope: 'system/*.cruds', subject: 'soak', issuer: ISSUER, audience: ISSUER, expiresIn: '12h' });
const server = await startKanplan({ ...database.env, AUTH_KEY_FILE: keyFile, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: ISSUER });
const api: Api = { url: server.url, token };
const run = randomBytes(3).toString('hex');
const counter = { n: 0 };
const samples: Sample[] = [];
const resources: Resources[] = [];
const errors: string[] = [];
const statuses: Record<string, number> = {};
let started = 0;

/** One request, timed; an answer other than `expected` is an error of the soak. */
async function timed(what: string, method: string, url: string, expected: number[], body?: string): Promise<any> {
  const t0 = performance.now();
  let answer;
  try {
    answer = await send(api, method, url, body);
  } catch (err) {
    errors.push(`${what} ${method} ${url}: ${String(err)} (${String((err as Error).cause ?? '')})`);
    return undefined;
  }
  const ms = performance.now() - t0;
  samples.push({ at: t0 - started, kind: what, ms });
  statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
  if (!expected.includes(answer.status)) errors.push(`${what} ${method} ${url}: ${answer.status} ${JSON.stringify(answer.json).slice(0, 300)}`);
  return answer.json;
}

// Seed: a few imported people to read and search, and Patients to update.
const people: { patient: string; carePlan: string }[] = [];
async function importOne(): Promise<void> {
  const doc = documentFor(run, counter.n++);
  const json = await timed('import', 'POST', 'CarePlan/$import-document', [200, 201], doc.body);
  const entries = json?.parameter?.find((p: { name: string }) => p.name === 'return')?.resource?.entry ?? [];
  const idOf = (type: string) => (entries as { response: { location: string } }[]).map((e) => e.response.location.split('/').slice(-4)).find((parts) => parts[0] === type)?.[1];
  const patient = idOf('Patient');
  const carePlan = idOf('CarePlan');
  if (patient && carePlan && people.length < 200) people.push({ patient, carePlan });
}
started = performance.now();
for (let i = 0; i < 5; i++) await importOne();
const updated = Array.from({ length: 8 }, (_, i) => `soak-${run}-${i}`);
for (const id of updated) await timed('update', 'PUT', `Patient/${id}`, [200, 201], JSON.stringify({ resourceType: 'Patient', id, name: [{ family: 'Soak' }] }));
samples.length = 0;

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)];
/** The mix: mostly reads and searches, a steady stream of writes, and an import now and then. */
const steps: [number, () => Promise<unknown>][] = [
  [30, () => timed('read', 'GET', `Patient/${pick(people).patient}`, [200])],
  [10, () => timed('read', 'GET', `CarePlan/${pick(people).carePlan}`, [200])],
  [12, () => timed('search', 'GET', `CarePlan?subject=Patient/${pick(people).patient}&_include=CarePlan:goal`, [200])],
  [8, () => timed('search', 'GET', `Observation?patient=Patient/${pick(people).patient}&_sort=-date&_count=20`, [200])],
  [8, () => timed('search', 'GET', `Patient?name=Exam&_count=20`, [200])],
  [
    12,
    () => {
      const id = pick(updated);
      return timed('write', 'PUT', `Patient/${id}`, [200], JSON.stringify({ resourceType: 'Patient', id, name: [{ family: `Soak${counter.n++}` }] }));
    },
  ],
  [
    12,
    () =>
      timed('write', 'POST', 'Observation', [201], JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
        subject: { reference: `Patient/${pick(people).patient}` },
        effectiveDateTime: new Date().toISOString(),
        valueQuantity: { value: 60 + Math.round(Math.random() * 40), unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
      })),
  ],
  [8, importOne],
];
const total = steps.reduce((sum, [weight]) => sum + weight, 0);
function nextStep(): () => Promise<unknown> {
  let r = Math.random() * total;
  for (const [weight, step] of steps) if ((r -= weight) < 0) return step;
  return steps[0][1];
}

const endAt = performance.now() + minutes * 60_000;
started = performance.now();
const sampleResources = () => resources.push({ at: performance.now() - started, rssMiB: server.rssMiB(), fds: fdsOf(server.pid) });
sampleResources();
const sampler = setInterval(sampleResources, 10_000);
const progress = setInterval(() => {
  const last = resources.at(-1);
  console.log(`${Math.round((performance.now() - started) / 60_000)} min: ${samples.length} requests, ${errors.length} errors, RSS ${last?.rssMiB} MiB, fds ${last?.fds}`);
}, 60_000);
await Promise.all(
  Array.from({ length: clients }, async () => {
    while (performance.now() < endAt) await nextStep()();
  }),
);
clearInterval(sampler);
clearInterval(progress);
sampleResources();
const elapsed = performance.now() - started;
await server.stop();
await database.drop();
fs.rmSync(dir, { recursive: true, force: true });

function windowFigures(from: number, to: number) {
  const inWindow = samples.filter((s) => s.at >= from && s.at < to);
  const byKind: Record<string, { n: number; p50: number; p99: number }> = {};
  for (const what of ['all', ...new Set(inWindow.map((s) => s.kind))]) {
    const ms = inWindow.filter((s) => what === 'all' || s.kind === what).map((s) => s.ms).sort((a, b) => a - b);
    byKind[what] = { n: ms.length, p50: round(quantile(ms, 0.5)), p99: round(quantile(ms, 0.99)) };
  }
  const rss = resources.filter((r) => r.at >= from && r.at <= to).map((r) => r.rssMiB);
  return { byKind, rssMiB: { min: Math.min(...rss), max: Math.max(...rss), mean: Math.round(rss.reduce((a, b) => a + b, 0) / rss.length) } };
}
const report = {
  database: kind,
  minutes: round(elapsed / 60_000),
  clients,
  load: os.loadavg().map(round),
  requests: samples.length,
  statuses,
  errors: errors.length,
  first: windowFigures(0, WINDOW_MS),
  last: windowFigures(elapsed - WINDOW_MS, elapsed + 1),
  fds: { first: resources[0].fds, last: resources.at(-1)?.fds, max: Math.max(...resources.map((r) => r.fds)) },
  rssMiB: { first: resources[0].rssMiB, last: resources.at(-1)?.rssMiB, max: Math.max(...resources.map((r) => r.rssMiB)) },
  samples: resources,
};
console.log(JSON.stringify({ ...report, samples: undefined }, null, 2));
for (const error of errors.slice(0, 20)) console.log(`ERROR ${error}`);
if (out) fs.writeFileSync(out, JSON.stringify({ ...report, errorList: errors.slice(0, 100) }, null, 2));
process.exit(errors.length ? 1 : 0);
