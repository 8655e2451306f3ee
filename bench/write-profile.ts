/**
 * Where a write's time goes, in-process (no HTTP, no load generator): the load benchmark's member
 * imports (`POST CarePlan/$import-document` of a PCSP, BSP and ISP per member) and `POST Goal`
 * creates, through the same request handler the HTTP edge calls, with the load benchmark's token
 * (`system/*.cruds`, no fhirUser) and AuditEvents on. It counts the SQL statements each operation
 * sends (every `query` and `exec` on the database and in its transactions, BEGIN/COMMIT included)
 * and this process's CPU per operation; both move less than throughput on a shared machine.
 *
 *   node [--cpu-prof --cpu-prof-dir=DIR] bench/write-profile.ts [--db pglite|postgres] [--members 100] [--creates 2000] [--concurrency 4] [--bundles 12]
 *
 * `--bundles N`: also imports the load benchmark's first N Synthea-style patient transactions
 * (bench/load/synthea-bundles.ts), reported per resource.
 *
 * It imports only modules that the checkout before the workflow work (ba95de5) also has, so a copy
 * of it there gives the "before" figures. PostgreSQL: BENCH_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test), schema bench_write_profile.
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { accessOf } from '../src/auth/access.ts';
import { loadConfig } from '../src/config.ts';
import type { FhirContext } from '../src/fhir/context.ts';
import type { FhirRequest, FhirResponse } from '../src/fhir/request.ts';
import { dispatch } from '../src/fhir/router.ts';
import { createFhirContext } from '../src/server/server.ts';
import { openDatabase, type Database, type SqlExecutor } from '../src/store/database.ts';
import { openBenchDatabase, option } from './bench-database.ts';

const kind = option('--db', 'pglite');
const members = Number(option('--members', '100'));
const creates = Number(option('--creates', '2000'));
const concurrency = Number(option('--concurrency', '4'));
const bundleCount = Number(option('--bundles', '0'));
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_write_profile';

/** Statements sent, by their first words (e.g. "SELECT", "WITH", "BEGIN"). */
const statements = new Map<string, number>();
let statementCount = 0;
/**
 * `--trace`: each statement of one operation (a member's imports), with its parameters except
 * for the version statements'. (Who sent it is not in a stack trace: a transaction's statements
 * run through one promise chain.)
 */
let tracing = false;
function counted(sql: string): void {
  statementCount++;
  if (tracing) console.log(`  ${sql.trimStart().slice(0, 60).replace(/\s+/g, ' ')}`);
  const head = sql.trimStart().slice(0, 40).split(/\s+/).slice(0, 2).join(' ');
  statements.set(head, (statements.get(head) ?? 0) + 1);
}

function countingExecutor(inner: SqlExecutor): SqlExecutor {
  return {
    query: (sql, params) => {
      counted(sql);
      if (tracing && !sql.startsWith('WITH v')) console.log(`    ${JSON.stringify(params ?? []).slice(0, 160)}`);
      return inner.query(sql, params);
    },
    exec: (sql) => {
      counted(sql);
      return inner.exec(sql);
    },
  };
}

function countingDatabase(inner: Database): Database {
  return {
    ...countingExecutor(inner),
    driver: inner.driver,
    concurrency: inner.concurrency,
    transaction: (fn) => {
      counted('BEGIN');
      return inner.transaction((tx) => fn(countingExecutor(tx))).finally(() => counted('COMMIT'));
    },
    close: () => inner.close(),
  };
}

function open(): Promise<Database> {
  return openBenchDatabase(kind, SCHEMA, concurrency + 2);
}

const examples = ['pcsp', 'bsp', 'isp'].map((type) => readFileSync(new URL(`../bundles/documents/avery-example.${type}.json`, import.meta.url), 'utf8'));

/** The load benchmark's member documents (bench/load/dataset.ts), parsed as the HTTP edge parses them. */
function memberDocuments(member: number): unknown[] {
  const n = String(member).padStart(7, '0');
  return examples.map((text) =>
    JSON.parse(
      text
        .replaceAll('KS-TEST-0000001', `KS-TEST-L${n}`)
        .replaceAll('PCSP-TEST-AVERY-2026', `PCSP-LOAD-${n}`)
        .replaceAll('BSP-TEST-AVERY-2026', `BSP-LOAD-${n}`)
        .replaceAll('ISP-TEST-AVERY-2026', `ISP-LOAD-${n}`),
    ),
  );
}

const request = (method: FhirRequest['method'], path: string, body: unknown, contentType: string): FhirRequest => ({ method, path, query: [], headers: {}, body, contentType });

const raw = await open();
const db = countingDatabase(raw);
const config = loadConfig({}, { baseUrl: 'http://127.0.0.1/fhir', loadDemoData: false });
const logger = pino({ level: 'warn' });
const base: FhirContext = createFhirContext(config, db, logger);
const access = accessOf({ sub: 'bench', scope: 'system/*.cruds' });

// The HTTP edge's handler: AuditEvents recorded where this checkout has them.
type Handle = (request: FhirRequest) => Promise<FhirResponse>;
let handle: Handle = (r) => dispatch({ ...base, access }, r);
let closeAudit = async (): Promise<void> => {};
try {
  const { AuditLog } = await import('../src/fhir/audit/audit-log.ts');
  const { handleFhirRequest } = await import('../src/fhir/audit/audited-request.ts');
  const audit = new AuditLog(base.repo, { flushMs: config.audit.flushMs, readGrouping: config.audit.readGrouping, logger });
  const audited: FhirContext = { ...base, audit };
  handle = (r) => handleFhirRequest(audited, r, () => Promise.resolve(access));
  closeAudit = () => audit.close();
} catch {
  // No AuditEvents in this checkout.
}

interface Measured {
  readonly operations: number;
  readonly seconds: number;
  readonly cpuMsPerOperation: number;
  readonly statementsPerOperation: number;
}

async function measure(total: number, one: (i: number) => Promise<void>): Promise<Measured> {
  if (process.argv.includes('--trace')) {
    tracing = true;
    await one(2_000_000);
    tracing = false;
  }
  let next = 0;
  const statementsBefore = statementCount;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    operations: total,
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    cpuMsPerOperation: Number(((used.user + used.system) / 1000 / total).toFixed(2)),
    statementsPerOperation: Number(((statementCount - statementsBefore) / total).toFixed(2)),
  };
}

async function expectOk(response: Promise<FhirResponse>, what: string): Promise<FhirResponse> {
  const answered = await response;
  if (answered.status >= 300) throw new Error(`${what}: ${answered.status} ${JSON.stringify(answered.outcome ?? answered.resource).slice(0, 400)}`);
  return answered;
}

const importMember = async (member: number): Promise<void> => {
  for (const document of memberDocuments(member)) {
    await expectOk(handle(request('POST', 'CarePlan/$import-document', document, 'application/json')), `member ${member}`);
  }
};

const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`# write profile in-process, ${kind}, concurrency ${concurrency}, node ${process.version}, load average ${load}`);
if (members > 0) {
  // Warm-up: definitions compiled, statements prepared, JIT.
  for (let i = 0; i < 3; i++) await importMember(1_000_000 + i);
  statements.clear();
  const result = await measure(members, importMember);
  const resources = (await raw.query<{ n: string }>('SELECT count(*) AS n FROM resource'))[0]?.n;
  console.log(`member imports (3 documents each): ${JSON.stringify(result)}; resources stored: ${resources}`);
  console.log(`statements per member by kind: ${JSON.stringify(Object.fromEntries([...statements].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / members).toFixed(2))])))}`);
}
if (creates > 0) {
  const patient = (await expectOk(handle(request('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Benchperson' }] }, 'application/fhir+json')), 'patient')).resource?.id;
  const goal = { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Walk to the park' }, subject: { reference: `Patient/${patient}` } };
  const createGoal = async (): Promise<void> => {
    await expectOk(handle(request('POST', 'Goal', goal, 'application/fhir+json')), 'Goal');
  };
  await measure(200, createGoal);
  statements.clear();
  const result = await measure(creates, createGoal);
  console.log(`Goal creates: ${JSON.stringify(result)}`);
  console.log(`statements per create by kind: ${JSON.stringify(Object.fromEntries([...statements].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / creates).toFixed(2))])))}`);
}
if (bundleCount > 0) {
  const { syntheaPatientBundles } = await import('./load/synthea-bundles.ts');
  const bundles = syntheaPatientBundles(bundleCount).map(({ body, entries }) => ({ bundle: JSON.parse(body) as unknown, entries }));
  const importBundle = async (i: number): Promise<void> => {
    await expectOk(handle(request('POST', '', bundles[i % bundles.length].bundle, 'application/fhir+json')), `bundle ${i}`);
  };
  // Warm-up on the smallest bundle.
  await importBundle(0);
  statements.clear();
  const result = await measure(bundles.length, importBundle);
  const resources = bundles.reduce((sum, b) => sum + b.entries, 0);
  console.log(`Synthea-style transactions: ${JSON.stringify(result)}; ${resources} resources, ${Math.round(resources / result.seconds)} resources/s, CPU ${((result.cpuMsPerOperation * bundles.length) / resources).toFixed(3)} ms per resource`);
  console.log(`statements per resource by kind: ${JSON.stringify(Object.fromEntries([...statements].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / resources).toFixed(3))])))}`);
}
await closeAudit();
await raw.close();
if (kind === 'postgres') {
  const admin = await openDatabase({ databaseUrl: PG_URL, maxConnections: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.close();
}
