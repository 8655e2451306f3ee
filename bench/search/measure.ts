import { performance } from 'node:perf_hooks';

/** Clients in the concurrent part of every search measurement. */
export const CLIENTS = 10;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A result table row: `| name | 1 client p50 | rate | p50 | p99 |` (ms, requests/s). */
export function resultRow(name: string, singleClientLatencies: number[], latencies: number[], seconds: number): string {
  const single = [...singleClientLatencies].sort((a, b) => a - b);
  const sorted = [...latencies].sort((a, b) => a - b);
  return `| ${name} | ${percentile(single, 50).toFixed(2)} | ${(sorted.length / seconds).toFixed(0)} | ${percentile(sorted, 50).toFixed(2)} | ${percentile(sorted, 99).toFixed(2)} |`;
}

/** Sequential latencies (one client): the service time, independent of queueing. */
async function sequentialLatencies(fn: () => Promise<void>, iterations = 300): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

/**
 * One table row: single-client p50, then `iterations` requests from CLIENTS closed-loop clients
 * (each sends its next request when the last one is answered): rate, p50 and p99.
 */
export async function measure(name: string, iterations: number, fn: () => Promise<void>): Promise<string> {
  for (let i = 0; i < 50; i++) {
    await fn();
  }
  const single = await sequentialLatencies(fn);
  const latencies: number[] = [];
  let remaining = iterations;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (remaining-- > 0) {
        const t0 = performance.now();
        await fn();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return resultRow(name, single, latencies, (performance.now() - started) / 1000);
}
