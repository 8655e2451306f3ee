/**
 * The peer: Medplum's @medplum/fhir-router FhirRouter over its MemoryRepository, behind the same
 * kind of express adapter, loaded with exactly the resources kanplan holds (an NDJSON file).
 * MemoryRepository searches by scanning and evaluating FHIRPath in memory
 * (../shared/measurements.md section 5); kanplan uses SQL indexes.
 *   node bench/load/peer-server.ts DATASET.ndjson   -> prints "ready <port>"
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getStatus } from '@medplum/core';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';
import express from 'express';
import { loadBaseDefinitions } from '../../src/conformance/base-definitions.ts';

loadBaseDefinitions();
const repo = new MemoryRepository();
const router = new FhirRouter();
// Line by line: at 10k members the data set is larger than the longest string V8 allows.
for await (const line of createInterface({ input: createReadStream(process.argv[2], 'utf8'), crlfDelay: Infinity })) {
  if (line.trim()) {
    await repo.createResource(JSON.parse(line) as Resource, undefined, true);
  }
}

const app = express().disable('x-powered-by');
app.use(express.json({ type: () => true, limit: '16mb' }));
app.use('/fhir', async (req, res) => {
  const url = req.originalUrl.replace(/^\/fhir/, '');
  const [outcome, resource] = await router.handleRequest(
    { method: req.method as 'GET', url, pathname: '', body: req.body ?? {}, params: {}, query: {} },
    repo,
  );
  res.status(getStatus(outcome)).type('application/fhir+json').send(JSON.stringify(resource ?? outcome));
});
const server = http.createServer(app);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
