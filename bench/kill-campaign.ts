/**
 * kill -9 campaign (issue 20): `kanplan serve` killed at random moments during document imports,
 * concurrent transactions and updates; after each kill `kanplan check`, a restart, and every
 * acknowledged write looked for (bench/crash/campaign.ts).
 *
 *   npm run bench:kill -- pglite [kills=20] [seed]
 *   npm run bench:kill -- postgres [kills=20] [seed]     # BENCH_DATABASE_URL (admin connection)
 *   npm run bench:kill -- import pglite|postgres [kills=10] [documents=1000] [seed] [kill-within-ms=10000]
 *
 * The `import` mode kills the server during one `kanplan import` of many documents, run again
 * after each restart until it ran through (bench/crash/import-under-kills.ts).
 *
 * Prints a line per kill and a summary; exit 1 when anything acknowledged was lost, a document
 * was partly written, the pair was torn, a 5xx was answered or `kanplan check` found drift.
 */
import { runKillCampaign } from './crash/campaign.ts';
import { runImportUnderKills } from './crash/import-under-kills.ts';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
if (process.argv[2] === 'import') {
  const kind = process.argv[3] === 'postgres' ? 'postgres' : 'pglite';
  const started = performance.now();
  const result = await runImportUnderKills({
    kind,
    kills: Number(process.argv[4] ?? 10),
    documents: Number(process.argv[5] ?? 1000),
    seed: process.argv[6] === undefined || process.argv[6] === '' ? undefined : Number(process.argv[6]),
    // Each kill falls 0…N ms after the run has imported something: on a quiet machine an import
    // of 1,000 documents is through after about ten kills of the default 10 s; a shorter window
    // spreads 20 over it.
    ...(process.argv[7] ? { killAfterMs: [0, Number(process.argv[7])] as const } : {}),
    adminUrl,
    log: (line) => console.log(line),
  });
  const problems = [
    ...result.kills.flatMap((k) => [...k.lost, ...k.partial, ...(k.carePlans.found === k.carePlans.expected ? [] : [`kill ${k.kill}: ${k.carePlans.found} CarePlans, expected ${k.carePlans.expected}`])]),
    ...result.kills.filter((k) => k.check && k.check.exit !== 0).map((k) => `kill ${k.kill}: kanplan check exit ${k.check?.exit}: ${k.check?.output}`),
    ...result.finalLost,
    ...(result.finalCheck.exit === 0 ? [] : [`final kanplan check exit ${result.finalCheck.exit}: ${result.finalCheck.output}`]),
  ];
  const restarts = result.kills.map((k) => k.restartMs).sort((a, b) => a - b);
  console.log(`
one import of ${result.finalWhole + result.finalLost.length} documents under kill -9 on ${kind}, seed ${result.seed}, ${Math.round((performance.now() - started) / 1000)} s
kills: ${result.kills.length} during ${result.runs} runs of kanplan import; kanplan check after ${result.kills.filter((k) => k.check).length} of them, all exit 0: ${result.kills.every((k) => !k.check || k.check.exit === 0)}
documents reported imported and found whole after the restart: lost ${result.kills.reduce((n, k) => n + k.lost.length, 0)}
documents in flight or unsent at a kill (looked at): whole ${result.kills.reduce((n, k) => n + k.failedWhole, 0)}, absent ${result.kills.reduce((n, k) => n + k.failedAbsent, 0)}, partial ${result.kills.reduce((n, k) => n + k.partial.length, 0)}
at the end: ${result.finalWhole} whole, ${result.finalLost.length} not; final kanplan check exit ${result.finalCheck.exit}
restart to ready: median ${restarts[Math.floor(restarts.length / 2)]} ms, max ${restarts.at(-1)} ms`);
  for (const problem of problems) console.log(`PROBLEM ${problem}`);
  process.exit(problems.length ? 1 : 0);
}

const kind = process.argv[2] === 'postgres' ? 'postgres' : 'pglite';
const kills = Number(process.argv[3] ?? 20);
const seed = process.argv[4] === undefined ? undefined : Number(process.argv[4]);

const started = performance.now();
const result = await runKillCampaign({ kind, kills, seed, adminUrl, log: (line) => console.log(line) });
const sum = (pick: (k: (typeof result.kills)[number]) => number) => result.kills.reduce((total, k) => total + pick(k), 0);
const checks = result.kills.filter((k) => k.check);
const restarts = result.kills.map((k) => k.restartMs).sort((a, b) => a - b);
const problems = [
  ...result.final.lost,
  ...result.kills.flatMap((k) => [...k.findings.lost, ...k.findings.partial, ...k.findings.torn]),
  ...result.final.torn,
  ...result.ledger.serverErrors,
  ...result.ledger.driverErrors,
  ...checks.filter((k) => k.check?.exit !== 0).map((k) => `kill ${k.kill}: kanplan check exit ${k.check?.exit}: ${k.check?.output}`),
  ...(result.finalCheck.exit === 0 ? [] : [`final kanplan check exit ${result.finalCheck.exit}: ${result.finalCheck.output}`]),
];
console.log(`
kill -9 campaign on ${kind}, seed ${result.seed}, ${Math.round((performance.now() - started) / 1000)} s
kills: ${result.kills.length}; kanplan check after ${checks.length} of them (all exit 0: ${checks.every((k) => k.check?.exit === 0)}), and once at the end (exit ${result.finalCheck.exit})
acknowledged: ${result.ledger.documents.length} documents (1 before the first kill), ${sum((k) => k.transactions)} transactions, ${sum((k) => k.updates)} updates; verified after each restart and all again at the end: lost ${result.final.lost.length}
documents in flight at a kill: ${sum((k) => k.inFlightDocuments)}: complete ${sum((k) => k.findings.inFlightComplete)}, absent ${sum((k) => k.findings.inFlightAbsent)}, partial ${sum((k) => k.findings.partial.length)}
torn pair: ${result.kills.filter((k) => k.findings.torn.length > 0).length + result.final.torn.length}; 5xx answers: ${result.ledger.serverErrors.length}; other answers: ${JSON.stringify(result.ledger.otherAnswers)}
restart to ready: median ${restarts[Math.floor(restarts.length / 2)]} ms, max ${restarts.at(-1)} ms`);
for (const problem of problems) console.log(`PROBLEM ${problem}`);
process.exit(problems.length ? 1 : 0);
