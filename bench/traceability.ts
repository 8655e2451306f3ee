/**
 * What traceability costs, in-process (no HTTP, no load generator sharing the CPU):
 *
 *   node --max-semi-space-size=4 bench/traceability.ts [--db pglite|postgres] [--creates 3000] [--reads 20000] [--concurrency 10] [--creates-only] [--read-grouping on|off]
 *
 * - creates/s: `POST Goal` through the FHIR request handler with full validation, `--concurrency`
 *   at a time; every create now writes its Provenance in the same statement. `--creates-only`
 *   runs this part alone, e.g. copied into a checkout without Provenance for the "before" figure
 *   (it imports nothing that checkout lacks). CPU per create (this process) is printed too: it
 *   moves less than throughput on a shared machine.
 * - reads/s: `GET Goal/{id}` of random ids through the same handler, with AuditEvents off and on
 *   (on: each read's AuditEvent built, batched and stored at least once a second), alternating
 *   rounds so that drift of a busy machine falls on both. `--read-grouping` (default on, as
 *   AUDIT_READ_GROUPING): every Goal read is of the same patient by the same caller, so with
 *   grouping on each AuditEvent records up to 100 reads (the best case of grouping).
 * PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), schema bench_trace.
 */
import os from 'node:os';
import { pino } from 'pino';
import { SYSTEM_ACCESS } from '../src/auth/access.ts';
import { loadConfig } from '../src/config.ts';
import type { FhirContext } from '../src/fhir/context.ts';
import { dispatch } from '../src/fhir/router.ts';
import type { FhirRequest } from '../src/fhir/request.ts';
import { createFhirContext } from '../src/server/server.ts';
import type { Database } from '../src/store/database.ts';
import { openBenchDatabase, option } from './bench-database.ts';

const kind = option('--db', 'postgres');
const creates = Number(option('--creates', '3000'));
const reads = Number(option('--reads', '20000'));
const concurrency = Number(option('--concurrency', '10'));
const readGrouping = option('--read-grouping', 'on') !== 'off';

function open(): Promise<Database> {
  return openBenchDatabase(kind, 'bench_trace', 10);
}

const request = (method: FhirRequest['method'], path: string, body?: unknown): FhirRequest => ({
  method,
  path,
  query: [],
  headers: {},
  body,
  contentType: 'application/fhir+json',
});

/** Runs `total` calls of `one`, `concurrency` at a time; answers calls per second (and this process's CPU µs per call in `cpu`). */
const cpu: number[] = [];
async function throughput(total: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  const usage = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
  const used = process.cpuUsage(usage);
  cpu.push(Math.round((used.user + used.system) / total));
  return Math.round((total / (performance.now() - started)) * 1000);
}

const db = await open();
const config = loadConfig({}, { baseUrl: 'http://127.0.0.1/fhir', loadDemoData: false });
const logger = pino({ level: 'warn' });
const base: FhirContext = createFhirContext(config, db, logger);
const ctx: FhirContext = { ...base, access: SYSTEM_ACCESS };
const patient = (await dispatch(ctx, request('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Benchperson' }] }))).resource?.id;
const goal = { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Walk to the park' }, subject: { reference: `Patient/${patient}` } };

// Warm-up: statements prepared, definitions compiled.
await throughput(300, () => dispatch(ctx, request('POST', 'Goal', goal)));
const createRates: number[] = [];
const createCpu: number[] = [];
for (let round = 0; round < 3; round++) {
  createRates.push(await throughput(Math.ceil(creates / 3), () => dispatch(ctx, request('POST', 'Goal', goal))));
  createCpu.push(cpu[cpu.length - 1] as number);
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
console.log(`# traceability in-process, ${kind}, concurrency ${concurrency}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`creates/s (Goal, validated): ${createRates.join(' / ')} (median ${median(createRates)}); CPU µs per create in this process: ${createCpu.join(' / ')}`);
if (process.argv.includes('--creates-only')) {
  await db.close();
  process.exit(0);
}
const { AuditLog } = await import('../src/fhir/audit/audit-log.ts');
const { handleFhirRequest } = await import('../src/fhir/audit/audited-request.ts');
const authenticate = () => Promise.resolve(SYSTEM_ACCESS);
const ids = (await db.query<{ id: string }>("SELECT id FROM resource WHERE resource_type = 'Goal'")).map((row) => row.id);

const audit = new AuditLog(base.repo, { flushMs: 1000, readGrouping, logger });
const audited: FhirContext = { ...base, audit };
const readRound = (context: FhirContext): Promise<number> =>
  throughput(reads, () => handleFhirRequest(context, request('GET', `Goal/${ids[Math.floor(Math.random() * ids.length)]}`), authenticate));
await readRound(base);
const off: number[] = [];
const on: number[] = [];
const offCpu: number[] = [];
const onCpu: number[] = [];
for (let round = 0; round < 3; round++) {
  off.push(await readRound(base));
  offCpu.push(cpu[cpu.length - 1] as number);
  const flushedBefore = process.cpuUsage();
  on.push(await readRound(audited));
  await audit.flush();
  // The reads' share of the flush (storing what they left waiting) counts against them.
  const used = process.cpuUsage(flushedBefore);
  onCpu.push(Math.round((used.user + used.system) / reads));
}
await audit.close();
const stored = await db.query<{ n: string }>("SELECT count(*) AS n FROM resource WHERE resource_type = 'AuditEvent'");
console.log(`reads/s AUDIT off: ${off.join(' / ')} (median ${median(off)}); CPU µs per read in this process: ${offCpu.join(' / ')}`);
console.log(`reads/s AUDIT on (read grouping ${readGrouping ? 'on' : 'off'}):  ${on.join(' / ')} (median ${median(on)}); CPU µs per read in this process, flush included: ${onCpu.join(' / ')}; AuditEvents stored: ${stored[0]?.n}`);
console.log(`read cost of auditing: ${Math.round((1 - median(on) / median(off)) * 100)}%`);
await db.close();
