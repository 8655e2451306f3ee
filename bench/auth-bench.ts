/**
 * What token checks and auditing cost a read (issues 15, 16): `GET /fhir/Patient/{id}` throughput
 * of `kanplan serve` (its own process, embedded database) driven by autocannon over loopback, in
 * four settings measured in the same run (AUDIT=off in the first three):
 *
 *   off       AUTH_MODE=off: no token, no check (the ceiling)
 *   verified  a bearer token whose ES256 signature is verified on every request: the requests
 *             cycle through 2 × the verifier's cache size of distinct tokens, so none is ever
 *             found in the cache (it is cleared when full)
 *   cached    one bearer token for every request: verified once, then found in the cache
 *             (what a client reusing its token gets; today's behaviour)
 *   audited   as cached, with AUDIT=on: every read's AuditEvent built, indexed and stored in
 *             batches (src/fhir/audit/); the budget is 0.7 of cached (issue 16)
 *
 * Each round restarts the server per setting, warms it up, then measures; the figures are the
 * medians over the rounds, and the ratios are those of the medians. The verifier alone is timed
 * in-process too (one core, no HTTP): microseconds per fresh verification and per cached lookup,
 * which move far less than throughput on a shared machine.
 *
 *   npm run bench:auth -- [rounds=3] [seconds=5]
 */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { createTokenVerifier } from '../src/auth/access.ts';
import { issueAccessToken, loadOrCreateSigningKey } from '../src/auth/signing-key.ts';
import { startKanplan, type ServerProcess } from './load/processes.ts';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 5);
const CONNECTIONS = 10;
const PATIENTS = 100;
/** Twice the verifier's MAX_REMEMBERED_TOKENS (src/auth/access.ts): cycling through them never hits the cache. */
const DISTINCT_TOKENS = 20_000;
const AUDIENCE = 'https://kanplan.bench/fhir';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, '.tmp', `bench-auth-${process.pid}`);
const keyFile = path.join(work, 'signing-key.json');

type Setting = 'off' | 'verified' | 'cached' | 'audited';

interface Measurement {
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
}

function serverEnv(setting: Setting): Record<string, string> {
  return {
    DATA_DIR: path.join(work, 'data'),
    AUTH_KEY_FILE: keyFile,
    AUTH_ISSUER: AUDIENCE,
    AUTH_AUDIENCE: AUDIENCE,
    ...(setting === 'off' ? { AUTH_MODE: 'off' } : {}),
    AUDIT: setting === 'audited' ? 'on' : 'off',
  };
}

async function readPatients(server: ServerProcess, ids: string[], authorizationOf: (n: number) => string | undefined, options: { seconds?: number; amount?: number }): Promise<Measurement> {
  let n = 0;
  const basePath = new URL(server.url).pathname.replace(/\/$/, '');
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds }),
    requests: [
      {
        setupRequest: (request) => {
          const i = n++;
          const authorization = authorizationOf(i);
          return {
            ...request,
            method: 'GET',
            path: `${basePath}/Patient/${ids[i % ids.length]}`,
            headers: { ...request.headers, accept: 'application/fhir+json', ...(authorization ? { authorization } : {}) },
          };
        },
      },
    ],
  });
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { reqPerSec: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99 };
}

async function createPatients(server: ServerProcess, token: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < PATIENTS; i++) {
    const res = await fetch(`${server.url}/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Benchmark${i}`, given: ['Test'] }], birthDate: '1970-01-01' }),
    });
    if (res.status !== 201) throw new Error(`creating a Patient answered ${res.status}: ${await res.text()}`);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Microseconds per call of the resource server's verifier: distinct tokens (each verified) and one token (cached). */
async function timeVerifier(distinct: string[], single: string): Promise<{ verifiedMicros: number; cachedMicros: number }> {
  const verify = await createTokenVerifier({ mode: 'jwt', keyFile, issuer: AUDIENCE, audience: AUDIENCE });
  const timeEach = async (count: number, authorizationOf: (n: number) => string): Promise<number> => {
    for (let i = 0; i < 500; i++) await verify(authorizationOf(i));
    const started = performance.now();
    for (let i = 0; i < count; i++) await verify(authorizationOf(i + 500));
    return Math.round(((performance.now() - started) * 1000) / count);
  };
  const timings = { verified: [] as number[], cached: [] as number[] };
  for (let run = 0; run < 3; run++) {
    timings.verified.push(await timeEach(5000, (n) => distinct[(run * 5500 + n) % distinct.length]));
    timings.cached.push(await timeEach(100_000, () => single));
  }
  return { verifiedMicros: median(timings.verified), cachedMicros: median(timings.cached) };
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const key = await loadOrCreateSigningKey(keyFile);
  const tokenOf = (subject: string): Promise<string> => issueAccessToken(key, { scope: 'system/*.cruds', subject, issuer: AUDIENCE, audience: AUDIENCE, expiresIn: '4h' });
  const single = `Bearer ${await tokenOf('bench-cached')}`;
  process.stderr.write(`signing ${DISTINCT_TOKENS} distinct tokens\n`);
  const distinct: string[] = [];
  for (let i = 0; i < DISTINCT_TOKENS; i++) distinct.push(`Bearer ${await tokenOf(`bench-${i}`)}`);

  const verifierCost = await timeVerifier(distinct, single);
  process.stderr.write(`verifier alone: ${JSON.stringify(verifierCost)}\n`);

  const loader = await startKanplan(serverEnv('cached'));
  const ids = await createPatients(loader, single.slice('Bearer '.length));
  await loader.stop();

  const authorization: Record<Setting, (n: number) => string | undefined> = {
    off: () => undefined,
    verified: (n) => distinct[n % distinct.length],
    cached: () => single,
    audited: () => single,
  };
  const results: Record<Setting, Measurement[]> = { off: [], verified: [], cached: [], audited: [] };
  const load: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    // A different order each round, so no setting always runs first on a cold machine.
    const order: Setting[] = round % 3 === 1 ? ['off', 'verified', 'cached', 'audited'] : round % 3 === 2 ? ['audited', 'cached', 'off', 'verified'] : ['verified', 'audited', 'cached', 'off'];
    for (const setting of order) {
      const server = await startKanplan(serverEnv(setting));
      try {
        await readPatients(server, ids, authorization[setting], { amount: 2000 });
        const measured = await readPatients(server, ids, authorization[setting], { seconds });
        results[setting].push(measured);
        load.push(os.loadavg()[0]);
        process.stderr.write(`round ${round} ${setting}: ${JSON.stringify(measured)} load ${os.loadavg()[0].toFixed(2)}\n`);
      } finally {
        await server.stop();
      }
    }
  }
  rmSync(work, { recursive: true, force: true });

  const off = median(results.off.map((m) => m.reqPerSec));
  const lines = [
    `Command: \`npm run bench:auth -- ${rounds} ${seconds}\`; ${new Date().toISOString()}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}; node ${process.version}; load average (1 min) during the run ${Math.min(...load).toFixed(2)}–${Math.max(...load).toFixed(2)}.`,
    `\`GET /fhir/Patient/{id}\` over ${PATIENTS} patients, ${CONNECTIONS} connections, ${seconds} s per measurement after 2,000 warm-up requests, embedded database; median of ${rounds} rounds.`,
    '',
    '| setting | req/s (median) | vs AUTH_MODE=off | p50 ms | p99 ms | req/s per round |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...(['off', 'verified', 'cached', 'audited'] as const).map((setting) => {
      const rows = results[setting];
      const rate = median(rows.map((m) => m.reqPerSec));
      const label = { off: 'AUTH_MODE=off', verified: 'token verified on every request', cached: 'same token, cached', audited: 'same token, cached, AUDIT=on' }[setting];
      return `| ${label} | ${rate} | ${(rate / off).toFixed(2)} | ${median(rows.map((m) => m.p50))} | ${median(rows.map((m) => m.p99))} | ${rows.map((m) => m.reqPerSec).join(', ')} |`;
    }),
    '',
    `Auditing (AUDIT=on against the cached setting, AUDIT=off): ${(median(results.audited.map((m) => m.reqPerSec)) / median(results.cached.map((m) => m.reqPerSec))).toFixed(2)} of the throughput.`,
    `The verifier alone, in-process (median of 3 runs): ${verifierCost.verifiedMicros} µs per token verified (ES256 signature and claims), ${verifierCost.cachedMicros} µs per cached token; at ${off} req/s (AUTH_MODE=off) the server completes a read every ${Math.round(1_000_000 / off)} µs.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
