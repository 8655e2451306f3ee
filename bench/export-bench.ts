/**
 * Export benchmark (issue 17): system-level Bulk Data `$export` throughput and the server's memory
 * while it runs, next to `Patient/{id}/$everything` latency for one member.
 *
 *   npm run bench:export -- --db pglite|postgres [--size 10000] [--rounds 3] [--everything 500]
 *   npm run bench:export -- --smoke    # 3 members, 1 round, PGlite unless --db says otherwise; nothing appended
 *   npm run bench:export -- --kickoff 'Patient/$export?_type=Patient,CarePlan,Goal&includeAssociatedData=LatestProvenanceResources' …
 *                                        # another kick-off than the default system-level `$export` (path and query)
 *   npm run bench:export -- --reuse …   # keeps the loaded database (.tmp/bench-export-<db>-<size>, schema
 *                                        # bench_export_<size>) and measures on it again next time, skipping the load
 *   npm run bench:export -- --size 1000 --replicate 10 …   # loads 1,000 members, then copies every resource row
 *                                        # 9 times in SQL (ids suffixed -r2 … -r10): the row count and sizes of the
 *                                        # 10,000-member set in a tenth of its load time; see replicateRows
 *
 * Members are loaded through `$import-document` (bench/load/dataset.ts) into a fresh database, by
 * a first `kanplan serve`; a second one, started on the loaded database, is measured, so its RSS
 * at start is that of a server that has loaded nothing. Each round is what a client does
 * (https://hl7.org/fhir/uv/bulkdata/STU2/export.html): kick-off with `Prefer: respond-async`,
 * poll the status URL until 200, download every output file (streamed, lines counted), then
 * DELETE the status URL so the next round starts with no stored files. The status URL is polled
 * every POLL_MS instead of the 2 s Retry-After, so the end-to-end time is not rounded up to the
 * server's advice. RSS (VmRSS of the server process, /proc/<pid>/status) is sampled every
 * SAMPLE_MS from kick-off to the last byte downloaded. Results: a table on stdout, appended to
 * bench/RESULTS.md with the command unless --smoke.
 */
import { appendFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueAccessToken, loadOrCreateSigningKey } from '../src/auth/signing-key.ts';
import { openDatabase } from '../src/store/database.ts';
import { loadDataset, medicaidIdOf } from './load/dataset.ts';
import { startKanplan, type ServerProcess } from './load/processes.ts';

export interface ExportBenchOptions {
  readonly db: 'pglite' | 'postgres';
  readonly size: number;
  readonly rounds: number;
  readonly everythingRequests: number;
  readonly smoke: boolean;
  /** Keep the loaded database for the next run with the same --db and --size, and measure on a kept one. */
  readonly reuse?: boolean;
  /** Copies of every loaded resource row (1: none); the export then holds size × replicate members' worth of rows. */
  readonly replicate: number;
  /** The kick-off, relative to the FHIR base; absent: the system-level `$export`. */
  readonly kickoff?: string;
}

function parseOptions(argv: string[]): ExportBenchOptions {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  return {
    smoke,
    db: value('--db') === 'postgres' ? 'postgres' : 'pglite',
    size: Number(value('--size') ?? (smoke ? 3 : 10_000)),
    rounds: Number(value('--rounds') ?? (smoke ? 1 : 3)),
    everythingRequests: Number(value('--everything') ?? (smoke ? 20 : 500)),
    reuse: argv.includes('--reuse'),
    replicate: Number(value('--replicate') ?? 1),
    ...(value('--kickoff') !== undefined ? { kickoff: value('--kickoff') } : {}),
  };
}

const POLL_MS = 100;
const SAMPLE_MS = 50;
/** Issue 17: exporting the 10k-member data set must not grow the server's RSS by more than ~100 MiB. */
const RSS_GROWTH_BUDGET_MIB = 100;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const keptName = (options: ExportBenchOptions): string => `${options.size}${options.replicate > 1 ? `x${options.replicate}` : ''}`;
const workOf = (options: ExportBenchOptions): string => path.join(root, '.tmp', options.reuse ? `bench-export-${options.db}-${keptName(options)}` : `bench-export-${process.pid}`);
const schemaOf = (options: ExportBenchOptions): string => (options.reuse ? `bench_export_${keptName(options)}` : 'bench_export');

function kanplanEnv(options: ExportBenchOptions): Record<string, string> {
  const work = workOf(options);
  const PG_SCHEMA = schemaOf(options);
  const env: Record<string, string> = { AUTH_KEY_FILE: path.join(work, 'signing-key.json'), DATA_DIR: path.join(work, 'data') };
  if (options.db === 'postgres') {
    env.DATABASE_URL = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${PG_SCHEMA}`)}`;
  }
  return env;
}

async function resetPostgresSchema(PG_SCHEMA: string): Promise<void> {
  const admin = await openDatabase({ databaseUrl: PG_URL, maxConnections: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE; CREATE SCHEMA ${PG_SCHEMA}`);
  await admin.close();
}

/**
 * Copies every current resource row `copies - 1` times with the id suffixed `-rN` (its JSON `id`
 * changed to match), in the loaded transaction numbers: a system export then reads and writes as
 * many rows of the same sizes as a data set `copies` times larger. Only the `resource` table is
 * copied (no history or index rows): a system-level export of every type reads nothing else, and
 * nothing else in the benchmark reads the copies. One statement per copy keeps PGlite's memory low.
 */
async function replicateRows(options: ExportBenchOptions, env: Record<string, string>): Promise<number> {
  const db = await openDatabase(options.db === 'postgres' ? { databaseUrl: PG_URL, maxConnections: 1, schema: schemaOf(options) } : { dataDir: env.DATA_DIR });
  try {
    let rows = 0;
    for (let copy = 2; copy <= options.replicate; copy++) {
      const inserted = await db.query<{ n: string }>(
        `WITH c AS (INSERT INTO resource (resource_type, id, version_id, tx, last_updated, deleted, content, index_hash)
           SELECT resource_type, id || $1, version_id, tx, last_updated, false, jsonb_set(content::jsonb, '{id}', to_jsonb(id || $1))::text, index_hash
           FROM resource WHERE NOT deleted AND id NOT LIKE '%-r%' RETURNING 1)
         SELECT count(*) AS n FROM c`,
        [`-r${copy}`],
      );
      rows += Number(inserted[0]?.n ?? 0);
    }
    return rows;
  } finally {
    await db.close();
  }
}

/** One export, kick-off to last file downloaded. */
export interface ExportRound {
  readonly resources: number;
  readonly files: number;
  /** Kick-off to the manifest (the job's own time plus at most one poll interval). */
  readonly jobSeconds: number;
  readonly downloadSeconds: number;
  readonly totalSeconds: number;
  readonly rssStartMiB: number;
  readonly rssPeakMiB: number;
}

interface Manifest {
  readonly output: readonly { readonly type: string; readonly url: string; readonly count: number }[];
  readonly error: readonly { readonly url: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Samples the server's RSS until stopped; the peak includes the first sample. */
function sampleRss(server: ServerProcess): { start: number; stop: () => number } {
  const start = server.rssMiB();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, server.rssMiB());
  }, SAMPLE_MS);
  return {
    start,
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, server.rssMiB());
    },
  };
}

/** Newlines in a streamed body, without holding it (a file may be far longer than a V8 string). */
async function countLines(body: ReadableStream<Uint8Array>): Promise<number> {
  let lines = 0;
  for await (const chunk of body) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

async function exportRound(server: ServerProcess, token: string, kickoffPath: string): Promise<ExportRound> {
  const auth = { authorization: `Bearer ${token}` };
  const rss = sampleRss(server);
  const started = performance.now();
  const kickOff = await fetch(`${server.url}/${kickoffPath}`, { headers: { ...auth, accept: 'application/fhir+json', prefer: 'respond-async' } });
  const statusUrl = kickOff.headers.get('content-location');
  if (kickOff.status !== 202 || !statusUrl) throw new Error(`kick-off answered ${kickOff.status}: ${(await kickOff.text()).slice(0, 500)}`);
  await kickOff.arrayBuffer();
  let manifest: Manifest | undefined;
  while (!manifest) {
    const status = await fetch(statusUrl, { headers: auth });
    if (status.status === 200) {
      manifest = (await status.json()) as Manifest;
    } else if (status.status === 202) {
      await status.arrayBuffer();
      await sleep(POLL_MS);
    } else {
      throw new Error(`status answered ${status.status}: ${(await status.text()).slice(0, 500)}`);
    }
  }
  const manifestAt = performance.now();
  if (manifest.error.length > 0) throw new Error(`the export reported ${manifest.error.length} error file(s): ${manifest.error.map((e) => e.url).join(', ')}`);
  let resources = 0;
  for (const file of manifest.output) {
    const response = await fetch(file.url, { headers: { ...auth, accept: 'application/fhir+ndjson' } });
    if (response.status !== 200 || !response.body) throw new Error(`download of ${file.url} answered ${response.status}`);
    const lines = await countLines(response.body);
    if (lines !== file.count) throw new Error(`${file.url}: ${lines} lines downloaded, the manifest says ${file.count}`);
    resources += lines;
  }
  const finished = performance.now();
  const rssPeakMiB = rss.stop();
  // Removes the stored files, so every round starts from the same database.
  await (await fetch(statusUrl, { method: 'DELETE', headers: auth })).arrayBuffer();
  return {
    resources,
    files: manifest.output.length,
    jobSeconds: (manifestAt - started) / 1000,
    downloadSeconds: (finished - manifestAt) / 1000,
    totalSeconds: (finished - started) / 1000,
    rssStartMiB: rss.start,
    rssPeakMiB,
  };
}

/** Latency of `Patient/{id}/$everything` (one page holding the whole record), one request at a time. */
async function everythingLatency(server: ServerProcess, token: string, patientId: string, requests: number): Promise<{ p50: number; p99: number; entries: number }> {
  const url = `${server.url}/Patient/${patientId}/$everything?_count=1000`;
  const headers = { authorization: `Bearer ${token}`, accept: 'application/fhir+json' };
  let entries = 0;
  const once = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const bundle = (await response.json()) as { entry?: unknown[]; link?: { relation: string }[] };
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`$everything answered ${response.status}: ${JSON.stringify(bundle).slice(0, 500)}`);
    if (bundle.link?.some((l) => l.relation === 'next')) throw new Error('$everything of one member did not fit one page of 1000');
    entries = bundle.entry?.length ?? 0;
    return ms;
  };
  for (let i = 0; i < Math.min(20, requests); i++) await once(); // warm-up, not counted
  const times: number[] = [];
  for (let i = 0; i < requests; i++) times.push(await once());
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), entries };
}

async function patientIdOf(server: ServerProcess, token: string, member: number): Promise<string> {
  const response = await fetch(`${server.url}/Patient?identifier=${encodeURIComponent(medicaidIdOf(member))}&_elements=id`, { headers: { authorization: `Bearer ${token}` } });
  const bundle = (await response.json()) as { entry?: { resource: { id: string } }[] };
  const id = bundle.entry?.[0]?.resource.id;
  if (!id) throw new Error(`no Patient with Medicaid ID ${medicaidIdOf(member)}`);
  return id;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export interface ExportBenchmark {
  readonly notes: string[];
  readonly rounds: ExportRound[];
  readonly everything: { p50: number; p99: number; entries: number; requests: number };
}

export async function runExportBenchmark(options: ExportBenchOptions): Promise<ExportBenchmark> {
  const notes: string[] = [];
  const note = (line: string): void => {
    notes.push(line);
    process.stderr.write(`${line}\n`);
  };
  const work = workOf(options);
  const loadedMark = path.join(work, 'loaded');
  const reused = options.reuse && existsSync(loadedMark);
  if (!reused) {
    rmSync(work, { recursive: true, force: true });
    if (options.db === 'postgres') await resetPostgresSchema(schemaOf(options));
  }
  const env = kanplanEnv(options);
  const server: { current?: ServerProcess } = {};
  const key = async () => loadOrCreateSigningKey(env.AUTH_KEY_FILE);
  // Issuer and audience default to the server's BASE_URL, which has a new port at each start.
  const tokenFor = async (url: string): Promise<string> =>
    issueAccessToken(await key(), { scope: 'system/*.cruds', subject: 'bench', issuer: url, audience: url, expiresIn: '4h' });
  try {
    if (reused) {
      note(`dataset: ${options.size} members${options.replicate > 1 ? ` × ${options.replicate} copies` : ''} loaded by an earlier run (--reuse, ${path.relative(root, work)})`);
    } else {
      server.current = await startKanplan(env);
      const loadStarted = performance.now();
      await loadDataset(server.current.url, await tokenFor(server.current.url), options.size, (done) => {
        if (done % 500 === 0) process.stderr.write(`loaded ${done} of ${options.size} members (${((performance.now() - loadStarted) / 1000).toFixed(0)} s)\n`);
      });
      note(`dataset: ${options.size} members loaded through $import-document into a new ${options.db} database in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`);
      await server.current.stop();
      server.current = undefined;
      if (options.replicate > 1) {
        const copyStarted = performance.now();
        const copied = await replicateRows(options, env);
        note(`replicated: every resource row copied ${options.replicate - 1} times in SQL (${copied} rows, ${((performance.now() - copyStarted) / 1000).toFixed(1)} s), as many rows as ${options.size * options.replicate} members`);
      }
      if (options.reuse) writeFileSync(loadedMark, new Date().toISOString());
    }

    server.current = await startKanplan(env);
    const measured = server.current;
    note(`kanplan start on the loaded database: ${measured.startupMs} ms, RSS ${measured.rssMiB()} MiB`);
    const token = await tokenFor(measured.url);
    const rounds: ExportRound[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const result = await exportRound(measured, token, options.kickoff ?? '$export');
      process.stderr.write(`export round ${round}: ${result.resources} resources in ${result.totalSeconds.toFixed(1)} s, RSS ${result.rssStartMiB} → peak ${result.rssPeakMiB} MiB\n`);
      rounds.push(result);
    }
    const member = Math.floor(options.size / 2);
    const everything = await everythingLatency(measured, token, await patientIdOf(measured, token, member), options.everythingRequests);
    note(`$everything of member ${member} (${medicaidIdOf(member)}): ${everything.entries} entries per answer, ${options.everythingRequests} requests one at a time after 20 not counted`);
    note(`kanplan RSS after the run: ${measured.rssMiB()} MiB`);
    return { notes, rounds, everything: { ...everything, requests: options.everythingRequests } };
  } finally {
    await server.current?.stop();
    if (!options.reuse) rmSync(work, { recursive: true, force: true });
  }
}

export function formatExportTable(db: string, size: number, result: ExportBenchmark): string {
  const { rounds, everything } = result;
  const rate = (r: ExportRound): number => r.resources / r.totalSeconds;
  const growth = (r: ExportRound): number => r.rssPeakMiB - r.rssStartMiB;
  const row = (label: string, r: Omit<ExportRound, 'files'> & { files: number | string }, perSecond: number, grew: number): string =>
    `| ${label} | ${r.resources} | ${r.files} | ${r.jobSeconds.toFixed(1)} | ${r.downloadSeconds.toFixed(1)} | ${r.totalSeconds.toFixed(1)} | ${Math.round(perSecond)} | ${r.rssStartMiB} | ${r.rssPeakMiB} | ${grew} | ${(grew / RSS_GROWTH_BUDGET_MIB).toFixed(2)} |`;
  const lines = [
    `| ${db}, ${size} members | resources | files | kick-off → manifest s | download s | total s | resources/s | RSS start MiB | RSS peak MiB | growth MiB | growth / 100 MiB budget |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rounds.map((r, i) => row(`$export round ${i + 1}`, r, rate(r), growth(r))),
  ];
  if (rounds.length > 1) {
    lines.push(
      row(
        `**median of ${rounds.length}**`,
        {
          resources: median(rounds.map((r) => r.resources)),
          files: median(rounds.map((r) => r.files)),
          jobSeconds: median(rounds.map((r) => r.jobSeconds)),
          downloadSeconds: median(rounds.map((r) => r.downloadSeconds)),
          totalSeconds: median(rounds.map((r) => r.totalSeconds)),
          rssStartMiB: median(rounds.map((r) => r.rssStartMiB)),
          rssPeakMiB: Math.max(...rounds.map((r) => r.rssPeakMiB)),
        },
        median(rounds.map(rate)),
        Math.max(...rounds.map(growth)),
      ),
    );
  }
  lines.push(
    '',
    '| $everything, one member | requests | entries | p50 ms | p99 ms |',
    '|---|---|---|---|---|',
    `| Patient/{id}/$everything?_count=1000 | ${everything.requests} | ${everything.entries} | ${everything.p50.toFixed(1)} | ${everything.p99.toFixed(1)} |`,
  );
  return lines.join('\n');
}

if (import.meta.main) {
  const options = parseOptions(process.argv.slice(2));
  const command = `npm run bench:export -- ${process.argv.slice(2).join(' ')}`;
  const result = await runExportBenchmark(options);
  const section = [
    `## Export benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (${options.db}, ${options.size} members${options.replicate > 1 ? ` × ${options.replicate} copies` : ''})`,
    '',
    `Command: \`${command}\`. Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average at end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}; node ${process.version}. ${(options.kickoff ?? '$export') === '$export' ? 'System-level \`$export\` (all types)' : `Kick-off \`${options.kickoff}\``}, the client in the benchmark process, the server in its own; status polled every ${POLL_MS} ms; RSS of the server process sampled every ${SAMPLE_MS} ms from kick-off to the last byte downloaded (peak and growth: the highest of the rounds). The server runs with its defaults (AUDIT on), so a round also exports the AuditEvents of the requests before it. ${options.db === 'postgres' ? 'PostgreSQL runs in its own processes, not counted in the RSS.' : 'The embedded database (PGlite) runs inside the server process and is counted in its RSS.'}`,
    '',
    ...result.notes.map((line) => `- ${line}`),
    '',
    formatExportTable(options.db, options.size, result),
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (!options.smoke) appendFileSync(path.join(root, 'bench', 'RESULTS.md'), `\n${section}`);
}
