/**
 * What auditing costs reads (issue 16: "auditing on costs reads at most 30% of throughput"):
 * throughput of `kanplan serve` (its own process) with AUDIT=off and AUDIT=on, measured in the
 * same run, over loopback with autocannon and one cached bearer token, for two reads:
 *
 *   read    GET /fhir/Patient/{id} over 100 patients
 *   search  GET /fhir/Goal?patient={id}&lifecycle-status=active (5 Goals per patient)
 *
 * Each round restarts the server per setting and warms it up; settings alternate in order between
 * rounds so a busy machine's drift falls on both. Figures are medians over the rounds, ratios
 * those of the medians; the 1-minute load average is printed next to them.
 *
 *   npm run bench:audit -- [--db pglite|postgres] [--rounds 3] [--seconds 5] [--read-grouping on|off] [--only read|search]
 *
 * `--read-grouping` is the audited server's AUDIT_READ_GROUPING (default on, as the server's).
 * `--requests-per-patient k` (default 1: round robin over the 100 patients) sends k requests in a
 * row about each patient, as a caller working through one person's record does: read grouping
 * makes one AuditEvent of the requests of one caller about one patient within a flush window, so
 * round robin at a low rate (a loaded machine) leaves each group one request.
 *
 * PostgreSQL: BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/test), in a
 * database of its own (kanplan_bench_audit), made anew and dropped at the end.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { issueAccessToken, loadOrCreateSigningKey } from '../src/auth/signing-key.ts';
import { openDatabase } from '../src/store/database.ts';
import { option } from './bench-database.ts';
import { startKanplan, type ServerProcess } from './load/processes.ts';

const kind = option('--db', 'pglite');
const rounds = Number(option('--rounds', '3'));
const seconds = Number(option('--seconds', '5'));
const readGrouping = option('--read-grouping', 'on');
const perPatient = Number(option('--requests-per-patient', '1'));
/** `--only read|search`: measure one of the two requests (e.g. for a CPU profile of one). */
const only = option('--only', '');
const CONNECTIONS = 10;
const PATIENTS = 100;
const GOALS_PER_PATIENT = 5;
const AUDIENCE = 'https://kanplan.bench/fhir';
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_DATABASE = 'kanplan_bench_audit';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, '.tmp', `bench-audit-${process.pid}`);
const keyFile = path.join(work, 'signing-key.json');

type Setting = 'off' | 'on';
type Scenario = 'read' | 'search';

interface Measurement {
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  /** Requests not answered within TIMEOUT_S (a loaded machine), reported rather than failing the run. */
  readonly timeouts: number;
  /** AUDIT=on: AuditEvents stored per request measured (1 without read grouping). */
  readonly eventsPerRequest?: number;
  /** CPU time per request measured, µs: the server process, and PostgreSQL's processes (0 on PGlite). */
  readonly serverUs?: number;
  readonly databaseUs?: number;
}

const CLOCK_TICKS_PER_MS = 100 / 1000; // USER_HZ, 100 on Linux

/** CPU time (user + system) each process used so far, in ms (/proc/PID/stat utime and stime). */
function cpuMsOf(pids: readonly number[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      used.set(pid, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_MS);
    } catch {
      // exited meanwhile
    }
  }
  return used;
}

/** CPU ms used between two readings: by the processes of the second (one started meanwhile counts from 0). */
function cpuMsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, used] of after) ms += used - (before.get(pid) ?? 0);
  return ms;
}

/** PostgreSQL's processes on this machine (its backends, writer, WAL writer…). */
function databasePids(): number[] {
  if (kind !== 'postgres') return [];
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    })
    .map(Number);
}

const TIMEOUT_S = 60;

function databaseUrl(): string {
  const url = new URL(PG_URL);
  url.pathname = `/${PG_DATABASE}`;
  return url.toString();
}

async function adminExec(sql: string): Promise<void> {
  const admin = await openDatabase({ databaseUrl: PG_URL, maxConnections: 1 });
  try {
    await admin.exec(sql);
  } finally {
    await admin.close();
  }
}

function serverEnv(setting: Setting): Record<string, string> {
  return {
    ...(kind === 'postgres' ? { DATABASE_URL: databaseUrl() } : { DATA_DIR: path.join(work, 'data') }),
    AUTH_KEY_FILE: keyFile,
    AUTH_ISSUER: AUDIENCE,
    AUTH_AUDIENCE: AUDIENCE,
    AUDIT: setting,
    AUDIT_READ_GROUPING: readGrouping,
    LOAD_DEMO_DATA: 'false',
  };
}

async function drive(server: ServerProcess, pathOf: (n: number) => string, authorization: string, options: { seconds?: number; amount?: number }): Promise<Measurement> {
  let n = 0;
  const basePath = new URL(server.url).pathname.replace(/\/$/, '');
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    timeout: TIMEOUT_S,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds }),
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          method: 'GET',
          path: `${basePath}/${pathOf(n++)}`,
          headers: { ...request.headers, accept: 'application/fhir+json', authorization },
        }),
      },
    ],
  });
  if (result.non2xx || result.errors > result.timeouts) {
    const alive = (() => {
      try {
        return process.kill(server.pid, 0);
      } catch {
        return false;
      }
    })();
    throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts; the server process is ${alive ? 'alive' : 'gone'}`);
  }
  return { reqPerSec: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, timeouts: result.timeouts };
}

async function post(server: ServerProcess, authorization: string, resource: { resourceType: string }): Promise<string> {
  const res = await fetch(`${server.url}/${resource.resourceType}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  if (res.status !== 201) throw new Error(`creating a ${resource.resourceType} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** AuditEvents stored so far, once every waiting read event has been flushed (AUDIT_FLUSH_MS ≤ 1 s). */
async function storedAuditEvents(server: ServerProcess, authorization: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const res = await fetch(`${server.url}/AuditEvent?_summary=count`, { headers: { authorization, accept: 'application/fhir+json' } });
  if (res.status !== 200) throw new Error(`counting AuditEvents answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { total: number }).total;
}

async function load(server: ServerProcess, authorization: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < PATIENTS; i++) {
    const id = await post(server, authorization, { resourceType: 'Patient', name: [{ family: `Audited${i}`, given: ['Fictional'] }], birthDate: '1970-01-01' } as { resourceType: string });
    for (let g = 0; g < GOALS_PER_PATIENT; g++) {
      await post(server, authorization, { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: `Goal ${g}` }, subject: { reference: `Patient/${id}` } } as { resourceType: string });
    }
    ids.push(id);
  }
  return ids;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  if (kind === 'postgres') {
    // One statement per call: DROP and CREATE DATABASE cannot run in a (multi-statement) transaction.
    await adminExec(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
    await adminExec(`CREATE DATABASE ${PG_DATABASE}`);
  }
  const key = await loadOrCreateSigningKey(keyFile);
  const authorization = `Bearer ${await issueAccessToken(key, { scope: 'system/*.cruds', subject: 'bench-audit', issuer: AUDIENCE, audience: AUDIENCE, expiresIn: '4h' })}`;

  const loader = await startKanplan(serverEnv('off'));
  const ids = await load(loader, authorization);
  await loader.stop();

  const paths: Record<Scenario, (n: number) => string> = {
    read: (n) => `Patient/${ids[Math.floor(n / perPatient) % ids.length]}`,
    search: (n) => `Goal?patient=${ids[Math.floor(n / perPatient) % ids.length]}&lifecycle-status=active`,
  };
  const results: Record<`${Scenario}-${Setting}`, Measurement[]> = { 'read-off': [], 'read-on': [], 'search-off': [], 'search-on': [] };
  const loads: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order: Setting[] = round % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
    for (const setting of order) {
      // BENCH_CPU_PROF=DIR: each server writes a V8 CPU profile to DIR/audit-<setting> when it stops.
      const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF, `audit-${setting}`)}`] : [];
      const server = await startKanplan(serverEnv(setting), profile);
      try {
        for (const scenario of (['read', 'search'] as const).filter((name) => !only || name === only)) {
          await drive(server, paths[scenario], authorization, { amount: 2000 });
          const eventsBefore = setting === 'on' ? await storedAuditEvents(server, authorization) : 0;
          const cpuBefore = cpuMsOf([server.pid, ...databasePids()]);
          const driven = await drive(server, paths[scenario], authorization, { seconds });
          const requests = driven.reqPerSec * seconds;
          const cpuAfter = cpuMsOf([server.pid, ...databasePids()]);
          const serverMs = (cpuAfter.get(server.pid) ?? 0) - (cpuBefore.get(server.pid) ?? 0);
          const cpu = { serverUs: (serverMs * 1000) / requests, databaseUs: ((cpuMsBetween(cpuBefore, cpuAfter) - serverMs) * 1000) / requests };
          // How well reads group: AuditEvents stored per request measured (the count is a search,
          // itself audited: one event more; its read events are stored within the flush period).
          const events = setting === 'on' ? (await storedAuditEvents(server, authorization)) - eventsBefore - 1 : undefined;
          const measured = { ...driven, ...cpu, eventsPerRequest: events === undefined ? undefined : events / requests };
          results[`${scenario}-${setting}`].push(measured);
          loads.push(os.loadavg()[0] as number);
          process.stderr.write(`round ${round} ${scenario} AUDIT=${setting}: ${JSON.stringify(measured)} load ${(os.loadavg()[0] as number).toFixed(2)}\n`);
        }
      } finally {
        await server.stop();
      }
    }
  }
  rmSync(work, { recursive: true, force: true });
  if (kind === 'postgres') await adminExec(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);

  const lines = [
    `Command: \`npm run bench:audit -- --db ${kind} --rounds ${rounds} --seconds ${seconds} --read-grouping ${readGrouping} --requests-per-patient ${perPatient}\`; ${new Date().toISOString()}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}; node ${process.version}; load average (1 min) during the run ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}.`,
    `${kind === 'postgres' ? 'PostgreSQL' : 'Embedded database (PGlite, DATA_DIR)'}; ${PATIENTS} patients with ${GOALS_PER_PATIENT} Goals each; ${CONNECTIONS} connections, one cached token (system/*.cruds); ${seconds} s per measurement after 2,000 warm-up requests; median of ${rounds} rounds.`,
    '',
    `| request | AUDIT | req/s (median) | on / off | p50 ms | p99 ms | req/s per round | timeouts (> ${TIMEOUT_S} s) | AuditEvents per request | CPU µs per request: server / PostgreSQL |`,
    '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...(['read', 'search'] as const).filter((name) => !only || name === only).flatMap((scenario) => {
      const off = median(results[`${scenario}-off`].map((m) => m.reqPerSec));
      return (['off', 'on'] as const).map((setting) => {
        const rows = results[`${scenario}-${setting}`];
        const rate = median(rows.map((m) => m.reqPerSec));
        const label = scenario === 'read' ? '`GET Patient/{id}`' : '`GET Goal?patient=…&lifecycle-status=active`';
        return `| ${label} | ${setting} | ${rate} | ${(rate / off).toFixed(2)} | ${median(rows.map((m) => m.p50))} | ${median(rows.map((m) => m.p99))} | ${rows.map((m) => m.reqPerSec).join(', ')} | ${rows.reduce((sum, m) => sum + m.timeouts, 0)} | ${setting === 'on' ? median(rows.map((m) => m.eventsPerRequest ?? NaN)).toFixed(3) : ''} | ${Math.round(median(rows.map((m) => m.serverUs ?? NaN)))} / ${Math.round(median(rows.map((m) => m.databaseUs ?? NaN)))} |`;
      });
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
