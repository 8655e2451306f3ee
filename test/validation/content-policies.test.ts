import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/**
 * SECURITY_CHECKS and REFUSE_EXAMPLE_URLS: off by default (R4 allows both), the counterparts of
 * the HL7 validator's -security-checks and "no examples" modes when switched on.
 */

const errorsAt = (issues: OperationOutcomeIssue[]): (string | undefined)[] => issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]);
const scripted = { resourceType: 'Patient', name: [{ text: 'Avery <script>alert(1)</script>' }] };
const exampleLinks = {
  resourceType: 'DocumentReference',
  status: 'current',
  subject: { reference: 'https://fhir.example.org/Patient/p1' },
  content: [{ attachment: { url: 'http://repository.example.org/fhir/Binary/1' } }],
};

describe('content policies', () => {
  let defaults: ResourceValidator;
  let strict: ResourceValidator;
  beforeAll(() => {
    const conformance = loadConformance();
    defaults = createResourceValidator(conformance);
    strict = createResourceValidator(conformance, { securityChecks: true, refuseExampleUrls: true });
  });
  const check = (v: ResourceValidator, r: object): (string | undefined)[] => errorsAt(v.validate(r as Resource));

  it('are off by default: HTML-looking text and example URLs are valid R4', () => {
    expect(check(defaults, scripted)).toEqual([]);
    expect(check(defaults, exampleLinks)).toEqual([]);
  });

  it('SECURITY_CHECKS refuses a string with an HTML tag, not one with a bare < or >', () => {
    expect(check(strict, scripted)).toEqual(['Patient.name[0].text']);
    expect(check(strict, { resourceType: 'Patient', name: [{ text: 'Avery <b>Testperson</b>' }] })).toEqual(['Patient.name[0].text']);
    expect(check(strict, { resourceType: 'Observation', status: 'final', code: { text: 'score < 3 and > 1, <3 <-> ok' } })).toEqual([]);
  });

  it('REFUSE_EXAMPLE_URLS refuses URLs and references in reserved example domains, not look-alikes', () => {
    expect(check(strict, exampleLinks)).toEqual(['DocumentReference.subject.reference', 'DocumentReference.content[0].attachment.url']);
    expect(check(strict, { ...exampleLinks, subject: { reference: 'https://myexample.org/Patient/p1' }, content: [{ attachment: { url: 'https://kancare.ks.gov/example.org' } }] })).toEqual([]);
  });

  it('are read from SECURITY_CHECKS and REFUSE_EXAMPLE_URLS, false unless set', () => {
    expect(loadConfig({}).securityChecks).toBe(false);
    expect(loadConfig({}).refuseExampleUrls).toBe(false);
    const on = loadConfig({ SECURITY_CHECKS: 'true', REFUSE_EXAMPLE_URLS: 'true' });
    expect([on.securityChecks, on.refuseExampleUrls]).toEqual([true, true]);
  });
});

describe.each(testDatabases)('content policies over HTTP (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind, { securityChecks: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a create with HTML in a string with 422 naming the element, and stores plain text', async () => {
    const refused = await http(server, 'POST', 'Patient', { body: scripted });
    expect(refused.status).toBe(422);
    expect(errorsAt(refused.body.issue)).toEqual(['Patient.name[0].text']);
    const stored = await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ text: 'Avery Testperson' }] } });
    expect(stored.status).toBe(201);
  });
});
