/**
 * The peer: Medplum's @medplum/fhir-router FhirRouter over its MemoryRepository, behind the same
 * kind of express adapter, loaded with exactly the resources kanplan holds (an NDJSON file).
 * MemoryRepository searches by scanning and evaluating FHIRPath in memory
 * (../shared/measurements.md section 5); kanplan uses SQL indexes. Neither FhirRouter nor
 * MemoryRepository validates what it stores (Medplum's server does, in its own repository), so
 * after loading, every create and update — alone or in a transaction — is first checked with
 * @medplum/core's validateResource, the base-R4 check Medplum's server runs: kanplan's writes
 * are compared with writes that are validated too.
 *   node bench/load/peer-server.ts DATASET.ndjson   -> prints "ready <port>"
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getStatus, OperationOutcomeError, validateResource, type WithId } from '@medplum/core';
import type { CreateResourceOptions, UpdateResourceOptions } from '@medplum/fhir-router';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';
import express from 'express';
import { loadBaseDefinitions } from '../../src/conformance/base-definitions.ts';

/** MemoryRepository that validates each resource written once `validating` is on. */
class ValidatingMemoryRepository extends MemoryRepository {
  validating = false;

  private check(resource: Resource): void {
    if (!this.validating) return;
    const issues = validateResource(resource);
    if (issues.some((issue) => issue.severity === 'error' || issue.severity === 'fatal')) throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: issues });
  }

  override createResource<T extends Resource>(resource: T, options?: CreateResourceOptions, update?: boolean): Promise<WithId<T>> {
    this.check(resource);
    return super.createResource(resource, options, update);
  }

  override updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    this.check(resource);
    return super.updateResource(resource, options);
  }
}

loadBaseDefinitions();
const repo = new ValidatingMemoryRepository();
const router = new FhirRouter();
// Line by line: at 10k members the data set is larger than the longest string V8 allows.
for await (const line of createInterface({ input: createReadStream(process.argv[2], 'utf8'), crlfDelay: Infinity })) {
  if (line.trim()) {
    await repo.createResource(JSON.parse(line) as Resource, undefined, true);
  }
}

repo.validating = true;

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
