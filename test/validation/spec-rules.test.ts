import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/** Bundle rules, absolute URIs, urn syntax and Attachment data (R4 prose rules, issue 21). */

const U1 = 'urn:uuid:0b8f0a54-2d0c-4f39-8a43-5b7f0f7c2d11';
const U2 = 'urn:uuid:0b8f0a54-2d0c-4f39-8a43-5b7f0f7c2d12';
const patient = (id: string): Record<string, unknown> => ({ resourceType: 'Patient', id, name: [{ family: 'Testperson' }] });
const errorsAt = (issues: OperationOutcomeIssue[]): (string | undefined)[] => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);

describe('R4 rules written in prose', () => {
  let validator: ResourceValidator;
  beforeAll(() => {
    validator = createResourceValidator(loadConformance());
  });
  const check = (r: unknown): (string | undefined)[] => errorsAt(validator.validate(r as Resource));

  it('Bundle: fullUrl absolute or urn, matching the resource; a resource once; single link relations once', () => {
    expect(check({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'Patient/a', resource: patient('a') }] })).toEqual(['Bundle.entry[0].fullUrl']);
    expect(check({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:not-a-uuid', resource: patient('a') }] })).toEqual(['Bundle.entry[0].fullUrl']);
    expect(check({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'https://example.org/fhir/Patient/b', resource: patient('a') }] })).toEqual(['Bundle.entry[0].fullUrl']);
    expect(check({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: U1, resource: patient('a') }, { fullUrl: U2, resource: patient('a') }] })).toEqual(['Bundle.entry[1].resource']);
    expect(check({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'https://example.org/fhir/Patient?page=2' }, { relation: 'next', url: 'https://example.org/fhir/Patient?page=3' }] })).toEqual(['Bundle.link[1]']);
    expect(check({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:oid:1.2.3.4', resource: patient('a') }, { fullUrl: 'https://example.org/fhir/Patient/b', resource: patient('b') }] })).toEqual([]);
  });

  it('Bundle: entry requests per method in transactions and batches', () => {
    const tx = (entry: object): unknown => ({ resourceType: 'Bundle', type: 'transaction', entry: [entry] });
    expect(check(tx({ fullUrl: U1, resource: patient('a'), request: { method: 'PUT', url: 'Patient/b' } }))).toEqual(['Bundle.entry[0].request.url']);
    expect(check(tx({ fullUrl: U1, resource: patient('a'), request: { method: 'DELETE', url: 'Patient/a' } }))).toEqual(['Bundle.entry[0].resource']);
    expect(check(tx({ request: { method: 'POST', url: 'Patient' } }))).toEqual(['Bundle.entry[0].request']);
    expect(check(tx({ fullUrl: U1, resource: patient('a'), request: { method: 'PUT', url: 'Patient/a' } }))).toEqual([]);
  });

  it('absolute URIs where R4 requires them, and Attachment size and hash agreeing with data', () => {
    expect(check({ resourceType: 'ValueSet', status: 'draft', compose: { include: [{ system: 'local-codes' }] } })).toEqual(['ValueSet.compose.include[0].system']);
    expect(check({ resourceType: 'CodeSystem', url: 'cs/local', status: 'draft', content: 'complete' })).toEqual(['CodeSystem.url']);
    expect(check({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'loinc', code: '8867-4' }] } })).toEqual(['Observation.code.coding[0].system']);
    const doc = (attachment: object): unknown => ({ resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=', ...attachment } }] });
    expect(check(doc({ size: 5, hash: 'qvTGHdzF6KLavt4PO0gs2a6pQ00=' }))).toEqual([]);
    expect(check(doc({ size: 9 }))).toEqual(['DocumentReference.content[0].attachment.size']);
    expect(check(doc({ hash: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }))).toEqual(['DocumentReference.content[0].attachment.hash']);
  });
});

describe.each(testDatabases)('R4 prose rules over HTTP (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a collection Bundle with a duplicate resource and a DocumentReference whose size disagrees with its data', async () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: U1, resource: patient('a') }, { fullUrl: U2, resource: patient('a') }] };
    const refused = await http(server, 'POST', 'Bundle', { body: bundle });
    expect(refused.status).toBe(400);
    expect(errorsAt(refused.body.issue)).toEqual(['Bundle.entry[1].resource']);
    const validated = await http(server, 'POST', 'DocumentReference/$validate', {
      body: { resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=', size: 9 } }] },
    });
    expect(validated.status).toBe(200);
    expect(errorsAt(validated.body.issue)).toEqual(['DocumentReference.content[0].attachment.size']);
  });
});
