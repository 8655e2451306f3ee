import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { CLIENTS, resultRow } from './measure.ts';

/** Every response's latency (ms) of one autocannon run, which fails on any non-2xx answer. */
async function latenciesOf(url: string, connections: number, amount: number, nextPath: () => string): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const basePath = new URL(url).pathname.replace(/\/$/, '');
  const started = performance.now();
  const instance = autocannon({
    url,
    connections,
    amount,
    headers: { accept: 'application/fhir+json' },
    requests: [{ setupRequest: (request) => ({ ...request, path: `${basePath}${nextPath()}` }) }],
  }) as Promise<autocannon.Result> & NodeJS.EventEmitter; // without a callback: the run, also its event emitter
  let last = started;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    last = performance.now();
  });
  const result = await instance;
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  // Up to the last answer: autocannon itself ends a run on its next one-second tick.
  return { latencies, seconds: (last - started) / 1000 };
}

/**
 * The same row as the in-process `measure`, over HTTP with autocannon (the load generator of
 * bench/load): 50 warm-up requests, 300 from one connection, then `iterations` from CLIENTS.
 */
export async function measureOverHttp(name: string, url: string, iterations: number, nextPath: () => string): Promise<string> {
  await latenciesOf(url, 1, 50, nextPath);
  const single = await latenciesOf(url, 1, 300, nextPath);
  const concurrent = await latenciesOf(url, CLIENTS, iterations, nextPath);
  return resultRow(name, single.latencies, concurrent.latencies, concurrent.seconds);
}

/** `amount` requests from CLIENTS connections, not measured (a new server process warming up). */
export async function warmUpOverHttp(url: string, amount: number, nextPath: () => string): Promise<void> {
  await latenciesOf(url, CLIENTS, amount, nextPath);
}
