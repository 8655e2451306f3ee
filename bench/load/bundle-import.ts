import { postDocument } from './dataset.ts';
import type { Row } from './run.ts';

/** What the import scenario sends: the same bundles, in the same order, to kanplan and the peer. */
export interface PatientBundle {
  readonly body: string;
  readonly entries: number;
}

export const BUNDLE_IMPORT_SCENARIO = 'transaction: Synthea-style patient bundles';

/**
 * Imports every bundle once as a transaction (`POST [base]`), `clients` at a time, and reports
 * bundles and resources per second over the whole import. Not autocannon: a run is a fixed set of
 * bundles of different sizes, so resources/s is exact rather than requests/s times an average.
 * Any answer but 200 is an error and counts none of its entries.
 */
export async function importBundles(baseUrl: string, bundles: readonly PatientBundle[], clients: number, target: string, token?: string): Promise<Row> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let imported = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, bundles.length) }, async () => {
      for (let i = next++; i < bundles.length; i = next++) {
        const sent = performance.now();
        // A kept-alive connection the server closed while idle is retried (dataset.ts).
        const response = await postDocument(baseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: bundles[i].body,
        });
        const text = await response.text();
        latencies.push(performance.now() - sent);
        if (response.status === 200) {
          imported += bundles[i].entries;
        } else {
          errors++;
          process.stderr.write(`${target}: bundle ${i} answered ${response.status}: ${text.slice(0, 500)}\n`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    scenario: BUNDLE_IMPORT_SCENARIO,
    target,
    connections: clients,
    requests: bundles.length,
    reqPerSec: Number((bundles.length / seconds).toFixed(1)),
    resourcesPerSec: Math.round(imported / seconds),
    p50: at(0.5),
    p99: at(0.99),
    errors,
  };
}
