/**
 * The kill -9 campaign (issue 20, "Faults"): `kanplan serve` runs as a child process on a
 * database of its own while documents are imported, transactions update a pair of Patients and
 * single updates run, all at once; at a random moment it is killed with SIGKILL. Then
 * `kanplan check` verifies version chains and search indexes, the server is started again on the
 * same database, and every write it had acknowledged is looked for through the API, every
 * document whose answer never came must be wholly there or absent, and the pair must not be torn.
 *
 * On the embedded database, every other kill is followed by `kanplan check` (which opens the
 * database and so recovers it) and the others by the server itself, so both paths recover a
 * killed database; on PostgreSQL the check follows every kill.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueAccessToken, loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { openDatabase } from '../../src/store/database.ts';
import { restorePglite } from '../../src/store/pglite.ts';
import { startKanplan, type ServerProcess } from '../load/processes.ts';
import { referenceShape, verifyLedger, type Findings } from './verify.ts';
import { PAIR, UPDATED, documentFor, emptyLedger, send, startWorkload, versionLocation, type Api, type Ledger } from './workload.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
const ISSUER = 'https://kanplan.test/crash-campaign';

export interface CampaignOptions {
  readonly kind: 'pglite' | 'postgres';
  readonly kills: number;
  /** PostgreSQL to create the campaign's own database in (dropped afterwards). */
  readonly adminUrl?: string;
  /** A dump of a migrated embedded database to start from instead of creating one (tests). */
  readonly pgliteDump?: string;
  /** The kill comes this many milliseconds after the first write of the round was acknowledged, drawn uniformly. */
  readonly killAfterMs?: readonly [number, number];
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

export interface KillRecord {
  readonly kill: number;
  readonly afterMs: number;
  /** Writes acknowledged between the start and the kill, by kind. */
  readonly documents: number;
  readonly transactions: number;
  readonly updates: number;
  readonly inFlightDocuments: number;
  /** `kanplan check` right after the kill: exit code and time, or undefined when the server recovered first. */
  readonly check?: { exit: number; ms: number; output: string };
  readonly restartMs: number;
  readonly findings: Findings;
}

export interface CampaignResult {
  readonly seed: number;
  readonly kills: readonly KillRecord[];
  /** The whole ledger verified once more after the last kill, and `kanplan check` on the stopped server. */
  readonly final: Findings;
  readonly finalCheck: { exit: number; output: string };
  readonly ledger: Ledger;
}

/** mulberry32: a small seeded generator, so a run's kill moments can be repeated. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function runCheck(env: Record<string, string>): Promise<{ exit: number; ms: number; output: string }> {
  const started = performance.now();
  // BASE_URL of its own: a test runner's environment may carry one of another meaning (Vite sets "/").
  const child = spawn(node, ['src/cli/main.ts', 'check'], { cwd: root, env: { ...process.env, ...env, BASE_URL: 'http://127.0.0.1/fhir' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ exit: code ?? -1, ms: Math.round(performance.now() - started), output: output.trim().slice(-2000) })));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A database of the campaign's own: a directory for the embedded one, a new PostgreSQL database (dropped afterwards). */
export async function databaseFor(options: Pick<CampaignOptions, 'kind' | 'adminUrl' | 'pgliteDump'>, dir: string): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (options.kind === 'pglite') {
    const dataDir = path.join(dir, 'data');
    if (options.pgliteDump) await restorePglite(options.pgliteDump, dataDir);
    return { env: { DATA_DIR: dataDir }, drop: async () => undefined };
  }
  if (!options.adminUrl) throw new Error('The campaign on PostgreSQL needs an admin connection URL.');
  const name = `kanplan_crash_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl: options.adminUrl, maxConnections: 1 });
  await admin.exec(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = new URL(options.adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    async drop() {
      const cleanup = await openDatabase({ databaseUrl: options.adminUrl, maxConnections: 1 });
      await cleanup.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.close();
    },
  };
}

/** What a kill run works in: a directory, a database of its own, a token and the server's environment. */
export interface KillRunSetup {
  readonly dir: string;
  readonly database: { env: Record<string, string>; drop: () => Promise<void> };
  readonly token: string;
  readonly env: Record<string, string>;
  /** Tells this run's plan ids and Medicaid IDs apart from any other's. */
  readonly run: string;
}

export async function setUpKillRun(options: Pick<CampaignOptions, 'kind' | 'adminUrl' | 'pgliteDump'>, issuer: string, subject: string): Promise<KillRunSetup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kanplan-${subject}-`));
  const database = await databaseFor(options, dir);
  const keyFile = path.join(dir, 'signing-key.json');
  const token = await issueAccessToken(await loadOrCreateSigningKey(keyFile), { scope: 'system/*.cruds', subject, issuer, audience: issuer, expiresIn: '12h' });
  const env = { ...database.env, AUTH_KEY_FILE: keyFile, AUTH_ISSUER: issuer, AUTH_AUDIENCE: issuer, LOAD_DEMO_DATA: 'false' };
  return { dir, database, token, env, run: randomBytes(3).toString('hex') };
}

export async function runKillCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const seed = options.seed ?? Date.now() % 1_000_000;
  const next = random(seed);
  const [minMs, maxMs] = options.killAfterMs ?? [0, 4000];
  const log = options.log ?? (() => undefined);
  const { dir, database, token, env, run } = await setUpKillRun(options, ISSUER, 'crash-campaign');
  const counter = { n: 0 };
  const ledger = emptyLedger();
  let server: ServerProcess | undefined;
  try {
    server = await startKanplan(env);
    let api: Api = { url: server.url, token };
    for (const id of [...PAIR, ...UPDATED]) {
      const created = await send(api, 'PUT', `Patient/${id}`, JSON.stringify({ resourceType: 'Patient', id, name: [{ family: 'Start' }] }));
      if (created.status !== 201) throw new Error(`setting up Patient/${id}: ${created.status}`);
    }
    const doc = documentFor(run, counter.n++);
    const first = await send(api, 'POST', 'CarePlan/$import-document', doc.body);
    if (first.status !== 201) throw new Error(`the reference import answered ${first.status}: ${JSON.stringify(first.json).slice(0, 500)}`);
    const locations = first.json.parameter.find((p: { name: string }) => p.name === 'return').resource.entry.map((e: { response: { location: string } }) => versionLocation(e.response.location));
    ledger.documents.push({ planId: doc.planId, medicaidId: doc.medicaidId, locations });
    const reference = await referenceShape(api, ledger.documents[0]);
    log(`reference document: ${JSON.stringify(reference.shape)}`);

    const kills: KillRecord[] = [];
    for (let kill = 1; kill <= options.kills; kill++) {
      const since = { documents: ledger.documents.length, transactions: ledger.transactions.length, updates: ledger.updates.length };
      const workload = startWorkload(api, ledger, run, counter);
      // The kill falls at a random moment once the writes are flowing (something acknowledged),
      // so that a slow first request after a restart does not make the kill hit an idle server.
      const acknowledgedSoFar = () => ledger.documents.length + ledger.transactions.length + ledger.updates.length;
      const before = acknowledgedSoFar();
      for (let waited = 0; acknowledgedSoFar() === before && waited < 120_000; waited += 50) await sleep(50);
      const afterMs = Math.round(minMs + next() * (maxMs - minMs));
      await sleep(afterMs);
      await server.kill();
      await workload.stop();
      const inFlightDocuments = ledger.unacknowledgedDocuments.length;
      // The embedded database: every other kill is recovered by the server itself.
      const checkFirst = options.kind === 'postgres' || kill % 2 === 1;
      const check = checkFirst ? await runCheck(env) : undefined;
      server = await startKanplan(env);
      api = { url: server.url, token };
      const findings = await verifyLedger(api, ledger, reference, since);
      ledger.unacknowledgedDocuments.length = 0;
      const record: KillRecord = {
        kill,
        afterMs,
        documents: ledger.documents.length - since.documents,
        transactions: ledger.transactions.length - since.transactions,
        updates: ledger.updates.length - since.updates,
        inFlightDocuments,
        check,
        restartMs: server.startupMs,
        findings,
      };
      kills.push(record);
      log(
        `kill ${kill} after ${afterMs} ms: acknowledged ${record.documents} documents, ${record.transactions} transactions, ${record.updates} updates; ` +
          `in flight ${inFlightDocuments} documents (${findings.inFlightComplete} complete, ${findings.inFlightAbsent} absent, ${findings.partial.length} partial); ` +
          `check ${check ? `exit ${check.exit} in ${check.ms} ms` : 'after the server'}; restart ${record.restartMs} ms; lost ${findings.lost.length}, torn ${findings.torn.length}`,
      );
    }
    const final = await verifyLedger(api, ledger, reference);
    await server.stop();
    server = undefined;
    const finalCheck = await runCheck(env);
    log(`final: ${final.acknowledged} acknowledged writes verified, lost ${final.lost.length}; kanplan check exit ${finalCheck.exit}: ${finalCheck.output.split('\n').at(-1)}`);
    return { seed, kills, final, finalCheck, ledger };
  } finally {
    await server?.kill();
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
