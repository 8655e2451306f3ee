import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../../src/fhir/audit/audit-log.ts';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../../harness.ts';

const ROLE = 'PractitionerRole/tcm-fictional-role';
const MAX_BODY = 2_000;

/**
 * Requests the HTTP edge refuses before they become FHIR interactions (src/server/app.ts) leave
 * an AuditEvent too (src/fhir/audit/audited-request.ts recordRefusedRequest), with the status and
 * the reason in outcomeDesc and the caller when its token verifies (issue 16, Traceability).
 */
describe.each(testDatabases)('AuditEvents of requests refused at the edge on %s', (kind) => {
  let server: TestServer;
  let user: TestServer;

  const refusals = async (since: string): Promise<AuditEvent[]> => {
    await (server.server.ctx.audit as AuditLog).flush();
    const found = await http(server, 'GET', `AuditEvent?outcome=4&date=ge${since}&_count=200`);
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    return ((found.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  };
  const withStatus = (events: AuditEvent[], status: number): AuditEvent[] => events.filter((e) => e.outcomeDesc?.startsWith(`${status}: `));

  beforeAll(async () => {
    server = await startTestServer(kind, { audit: { enabled: true, retentionDays: 0, flushMs: 1000, readGrouping: true }, maxBodyBytes: MAX_BODY });
    user = { ...server, token: await issueTestToken(server, 'user/*.cruds', '1h', { fhirUser: ROLE }) };
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('records a method that is no FHIR interaction (405), an unanswerable Accept (406) and an unread media type (415), naming the caller', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    expect((await http(user, 'PROPFIND', 'Patient/pat-refused')).status).toBe(405);
    expect((await http(user, 'GET', 'Patient/pat-refused', { headers: { accept: 'application/fhir+xml' } })).status).toBe(406);
    const xml = await http(user, 'POST', 'Patient', { raw: '<Patient xmlns="http://hl7.org/fhir"/>', headers: { 'content-type': 'application/fhir+xml' } });
    expect(xml.status).toBe(415);

    const events = await refusals(since);
    const [method] = withStatus(events, 405);
    expect(method).toMatchObject({ action: 'E', outcome: '4', agent: expect.arrayContaining([expect.objectContaining({ who: { reference: ROLE } })]) });
    expect(method.subtype).toBeUndefined();
    expect(method.outcomeDesc).toMatch(/PROPFIND is not a FHIR interaction/);
    expect(method.entity?.map((e) => e.what?.reference)).toContain('Patient/pat-refused');

    const [accept] = withStatus(events, 406);
    expect(accept).toMatchObject({ action: 'R', subtype: [{ code: 'read' }], agent: expect.arrayContaining([expect.objectContaining({ who: { reference: ROLE } })]) });
    expect(accept.entity?.map((e) => e.what?.reference)).toContain('Patient/pat-refused');

    const [mediaType] = withStatus(events, 415);
    expect(mediaType).toMatchObject({ action: 'C', subtype: [{ code: 'create' }] });
    expect(mediaType.outcomeDesc).toMatch(/FHIR JSON only/);
  });

  it('records a body over MAX_BODY_SIZE (413) and a body that is not JSON (400), stored before the answer', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const large = await http(user, 'PUT', 'Patient/pat-large', { body: { resourceType: 'Patient', id: 'pat-large', text: { status: 'generated', div: 'x'.repeat(MAX_BODY) } } });
    expect(large.status).toBe(413);
    const malformed = await http(user, 'POST', 'Goal', { raw: '{"resourceType": "Goal",', headers: { 'content-type': 'application/fhir+json' } });
    expect(malformed.status).toBe(400);

    // Writes' events are stored before the response: no flush needed to find them.
    const found = await http(server, 'GET', `AuditEvent?agent=${ROLE}&outcome=4&date=ge${since}&_count=50`);
    const events = ((found.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
    const [tooLarge] = withStatus(events, 413);
    expect(tooLarge).toMatchObject({ action: 'U', subtype: [{ code: 'update' }] });
    expect(tooLarge.outcomeDesc).toMatch(/MAX_BODY_SIZE/);
    expect(tooLarge.entity?.map((e) => e.what?.reference)).toContain('Patient/pat-large');
    const [notJson] = withStatus(events, 400);
    expect(notJson).toMatchObject({ action: 'C', subtype: [{ code: 'create' }] });
    expect(notJson.outcomeDesc).toMatch(/not valid JSON/);
  });

  it('records a malformed path (400) and a refused token at the edge (401) without naming a caller it could not verify', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    expect((await http(user, 'GET', 'Patient/bad%zzescape')).status).toBe(400);
    const forged = await http(server, 'PUT', 'Patient/pat-forged', { raw: 'not json', headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/fhir+json' } });
    expect(forged.status).toBe(400);
    expect((await http(server, 'GET', 'Patient/pat-forged', { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);

    const events = await refusals(since);
    const malformedPath = withStatus(events, 400).find((e) => e.outcomeDesc?.includes('percent-encoding'));
    expect(malformedPath?.agent[0].who?.reference).toBe(ROLE);
    const forgedBody = withStatus(events, 400).find((e) => e.entity?.some((entity) => entity.what?.reference === 'Patient/pat-forged'));
    expect(forgedBody?.agent[0].who?.display).toBe('unauthenticated caller');
    const [unauthenticated] = withStatus(events, 401);
    expect(unauthenticated).toMatchObject({ action: 'R', agent: [{ who: { display: 'unauthenticated caller' } }, expect.anything()] });
  });
});
