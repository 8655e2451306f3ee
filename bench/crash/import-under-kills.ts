/**
 * One large document import under kill -9 (issue 20, "Faults": "kill -9 of the server during a
 * 1,000-document import"): `kanplan import DIR --server URL` of `documents` PCSP files runs as its
 * own process, as an operator would run it, while `kanplan serve` is killed at a random moment,
 * `kanplan check` verifies the database, the server is started again and the same import command
 * is run again (what an operator does after a failed import; documents already imported answer
 * "unchanged") — repeated until the import ran through or `kills` kills were made, then once more
 * without kills to finish.
 *
 * After every restart: each document the command reported imported (acknowledged) is wholly in
 * its person's record; each it reported failed — the one in flight at the kill, and those it
 * could not send to a dead server — is wholly there or absent, never partial; and the number of
 * CarePlans is exactly the number of whole documents (so no unsent document appeared and no
 * earlier one vanished). At the end every one of the documents is verified whole once more.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startKanplan, type ServerProcess } from '../load/processes.ts';
import { random, runCheck, setUpKillRun, type CampaignOptions } from './campaign.ts';
import { documentState, referenceShape } from './verify.ts';
import { documentFor, send, versionLocation, type Api } from './workload.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
const ISSUER = 'https://kanplan.test/import-under-kills';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ImportUnderKillsOptions extends Pick<CampaignOptions, 'kind' | 'adminUrl' | 'pgliteDump' | 'seed' | 'log'> {
  readonly documents: number;
  readonly kills: number;
  /** The kill comes this many milliseconds after the run's first document was imported, drawn uniformly. */
  readonly killAfterMs?: readonly [number, number];
}

export interface ImportKill {
  readonly kill: number;
  readonly afterMs: number;
  /** Documents the command reported imported in this run, and failed (in flight or not sent). */
  readonly acknowledged: number;
  readonly failed: number;
  /** Failed documents found whole / absent / partial after the restart. */
  readonly failedWhole: number;
  readonly failedAbsent: number;
  readonly partial: string[];
  /** Acknowledged documents (this run or before) not whole after the restart. */
  readonly lost: string[];
  readonly carePlans: { expected: number; found: number };
  readonly check?: { exit: number; ms: number; output: string };
  readonly restartMs: number;
}

export interface ImportUnderKillsResult {
  readonly seed: number;
  readonly kills: readonly ImportKill[];
  /** Runs of the import command, the last one without a kill. */
  readonly runs: number;
  readonly finalWhole: number;
  readonly finalLost: string[];
  readonly finalCheck: { exit: number; output: string };
}

/** `kanplan import DIR --server URL`: the files it reported FAILED, and whether it ran through. */
function runImport(dir: string, api: Api): { done: Promise<{ exit: number; failed: Set<string>; output: string }> } {
  const child = spawn(node, ['src/cli/main.ts', 'import', dir, '--server', api.url, '--token', api.token, '--quiet'], { cwd: root, env: { ...process.env, BASE_URL: api.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  // 'close', not 'exit': the process can exit before its output has all been read.
  const done = new Promise<{ exit: number; failed: Set<string>; output: string }>((resolve, reject) =>
    child.once('close', (code) => {
      const failed = new Set([...output.matchAll(/^\s+FAILED (\S+?): /gm)].map((m) => path.basename(m[1])));
      // The command's own count of failures must be the FAILED lines read, or the ledger is wrong.
      const summary = /(\d+) document\(s\): \d+ created, \d+ updated, \d+ unchanged, (\d+) failed/.exec(output);
      if (!summary || Number(summary[2]) !== failed.size) reject(new Error(`kanplan import output not understood (${failed.size} FAILED lines): ${output.slice(-1500)}`));
      else resolve({ exit: code ?? -1, failed, output: output.trim().slice(-1500) });
    }),
  );
  return { done };
}

export async function runImportUnderKills(options: ImportUnderKillsOptions): Promise<ImportUnderKillsResult> {
  const seed = options.seed ?? Date.now() % 1_000_000;
  const next = random(seed);
  const [minMs, maxMs] = options.killAfterMs ?? [0, 10_000];
  const log = options.log ?? (() => undefined);
  const { dir, database, token, env, run } = await setUpKillRun(options, ISSUER, 'import-under-kills');
  const documentsDir = path.join(dir, 'documents');
  fs.mkdirSync(documentsDir);
  const files = Array.from({ length: options.documents }, (_, i) => {
    const doc = documentFor(run, i + 1);
    const file = `${String(i + 1).padStart(5, '0')}.pcsp.json`;
    fs.writeFileSync(path.join(documentsDir, file), doc.body);
    return { file, medicaidId: doc.medicaidId };
  });
  let server: ServerProcess | undefined;
  try {
    server = await startKanplan(env);
    let api: Api = { url: server.url, token };
    // The reference: one document imported before any kill shows what "whole" is.
    const first = documentFor(run, 0);
    const imported = await send(api, 'POST', 'CarePlan/$import-document', first.body);
    if (imported.status !== 201) throw new Error(`the reference import answered ${imported.status}`);
    const locations = imported.json.parameter.find((p: { name: string }) => p.name === 'return').resource.entry.map((e: { response: { location: string } }) => versionLocation(e.response.location));
    const reference = await referenceShape(api, { planId: first.planId, medicaidId: first.medicaidId, locations });
    const whole = new Set<string>();
    const carePlanCount = async (): Promise<number> => (await send(api, 'GET', 'CarePlan?_summary=count')).json.total as number;
    // A PCSP makes more than one CarePlan (the plan and its backup plan): counted on the reference.
    const carePlansPerDocument = await carePlanCount();

    const kills: ImportKill[] = [];
    let runs = 0;
    for (let kill = 1; kill <= options.kills && whole.size < files.length; kill++) {
      const importing = runImport(documentsDir, api);
      runs++;
      const afterMs = Math.round(minMs + next() * (maxMs - minMs));
      // The kill falls at a random moment once this run has imported something, so that a slow
      // start of the command does not make the kill hit a server it has not reached yet.
      let exited = false;
      importing.done.then(() => (exited = true), () => (exited = true)); // its failure is seen by the await below
      const before = await carePlanCount();
      while (!exited && (await carePlanCount()) === before) await sleep(300);
      const finished = exited || (await Promise.race([importing.done.then(() => true), sleep(afterMs).then(() => false)]));
      if (!finished) await server.kill();
      const result = await importing.done;
      const checkFirst = options.kind === 'postgres' || kill % 2 === 1;
      const check = finished ? undefined : checkFirst ? await runCheck(env) : undefined;
      if (!finished) {
        server = await startKanplan(env);
        api = { url: server.url, token };
      }
      const lost: string[] = [];
      const partial: string[] = [];
      let failedWhole = 0;
      let failedAbsent = 0;
      let acknowledged = 0;
      // The command sends one file at a time in name order: the first failed file is the one in
      // flight at the kill (or the first not sent); the files after it were never sent.
      const firstFailed = files.findIndex((f) => result.failed.has(f.file));
      for (const [index, f] of files.entries()) {
        const failed = result.failed.has(f.file);
        if (!failed && whole.has(f.medicaidId)) continue;
        if (failed && index > firstFailed + 2 && index % 50 !== 0) continue; // never sent: counted below, a sample looked at
        const state = await documentState(api, f.medicaidId, reference);
        if (!failed) {
          acknowledged++;
          if (state === 'whole') whole.add(f.medicaidId);
          else lost.push(`${f.file}: ${JSON.stringify(state)}`);
        } else if (state === 'whole') {
          failedWhole++;
          whole.add(f.medicaidId);
        } else if (state === 'absent') failedAbsent++;
        else partial.push(`${f.file}: ${JSON.stringify(state)}, whole is ${JSON.stringify(reference.shape)}`);
      }
      const carePlans = { expected: (whole.size + 1) * carePlansPerDocument, found: await carePlanCount() };
      if (finished) {
        log(`run ${runs} finished before its kill (${afterMs} ms): exit ${result.exit}`);
        if (lost.length || partial.length || carePlans.found !== carePlans.expected) log(`  lost ${lost.length}, partial ${partial.length}, CarePlans ${carePlans.found} of ${carePlans.expected}`);
        continue;
      }
      const record: ImportKill = { kill, afterMs, acknowledged, failed: result.failed.size, failedWhole, failedAbsent, partial, lost, carePlans, check, restartMs: server.startupMs };
      kills.push(record);
      log(
        `kill ${kill} after ${afterMs} ms: imported ${acknowledged} (${whole.size} of ${files.length} whole so far), failed ${result.failed.size} (looked at: ${failedWhole} whole, ${failedAbsent} absent, ${partial.length} partial); ` +
          `CarePlans ${carePlans.found} of ${carePlans.expected}; check ${check ? `exit ${check.exit} in ${check.ms} ms` : 'after the server'}; restart ${record.restartMs} ms; lost ${lost.length}`,
      );
    }
    // Finish the import without kills, then look at every document once more.
    const last = await runImport(documentsDir, api).done;
    runs++;
    log(`final run: exit ${last.exit}, ${last.output.split('\n').at(-1)}`);
    const finalLost: string[] = [];
    let finalWhole = 0;
    for (const f of files) {
      const state = await documentState(api, f.medicaidId, reference);
      if (state === 'whole') finalWhole++;
      else finalLost.push(`${f.file}: ${JSON.stringify(state)}`);
    }
    const found = await carePlanCount();
    if (found !== (files.length + 1) * carePlansPerDocument) finalLost.push(`${found} CarePlans, expected ${(files.length + 1) * carePlansPerDocument}`);
    await server.stop();
    server = undefined;
    const finalCheck = await runCheck(env);
    log(`final: ${finalWhole} of ${files.length} documents whole; kanplan check exit ${finalCheck.exit}: ${finalCheck.output.split('\n').at(-1)}`);
    return { seed, kills, runs, finalWhole, finalLost, finalCheck: { exit: finalCheck.exit, output: finalCheck.output } };
  } finally {
    await server?.kill();
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
