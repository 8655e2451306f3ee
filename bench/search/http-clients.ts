/**
 * The HTTP clients of the search benchmark, run in a worker thread: their requests and response
 * parsing then use the other core instead of queueing in the server's event loop, as clients in
 * another process on the same host would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { measure } from './measure.ts';

export interface HttpJob {
  readonly name: string;
  /** Request paths, used in turn (random members chosen by the benchmark). */
  readonly paths: readonly string[];
}

export interface HttpClientsInput {
  readonly url: string;
  readonly iterations: number;
  readonly jobs: readonly HttpJob[];
}

async function get(url: string): Promise<void> {
  const response = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  if (response.status !== 200) {
    throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  }
  await response.arrayBuffer();
}

const { url, iterations, jobs } = workerData as HttpClientsInput;
const lines: string[] = [];
for (const job of jobs) {
  let next = 0;
  lines.push(await measure(job.name, iterations, () => get(`${url}${job.paths[next++ % job.paths.length]}`)));
}
parentPort?.postMessage(lines);
