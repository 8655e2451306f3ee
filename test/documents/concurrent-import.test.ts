import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcspDocument } from '../../src/documents/pcsp/pcsp-types.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';
import { readExample } from './examples.ts';

/**
 * Two systems (or a retrying client) sending the same new document at once must still end with one
 * plan: every entry is a conditional update on a business identifier, and those serialize
 * (issue 6: "re-import is idempotent"; README "Concurrency").
 */
describe.each(testDatabases)('concurrent imports of one new document (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function total(resourceType: string, searchParams: Record<string, string> = {}): Promise<number> {
    return ((await server.client.search({ resourceType, searchParams: { ...searchParams, _summary: 'count' } })) as Bundle).total ?? 0;
  }

  it('write one CarePlan, one Patient and one Goal per document goal', async () => {
    const doc = readExample('jordan-sample.pcsp.json') as PcspDocument;
    const body = { raw: JSON.stringify(doc), headers: { 'content-type': 'application/json' } };
    const responses = await Promise.all([1, 2, 3].map(() => http(server, 'POST', 'CarePlan/$import-document', body)));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(await total('CarePlan', { identifier: `https://kanplan.org/fhir/sid/ks-plan-id|${doc.planId}` })).toBe(1);
    expect(await total('Patient')).toBe(1);
    expect(await total('Goal')).toBe(doc.goals.length);
  });
});
