import type { AuditEvent, Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneAuditEvents } from '../../../src/fhir/audit/audit-retention.ts';
import type { AuditLog } from '../../../src/fhir/audit/audit-log.ts';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../../harness.ts';

const AUDIT = { enabled: true, retentionDays: 0, flushMs: 1000, readGrouping: true };
const ROLE = 'PractitionerRole/cc-fictional-role';

describe.each(testDatabases)('AuditEvents on %s', (kind) => {
  let server: TestServer;
  let user: TestServer;
  let patient: string;

  /** Stores the reads' waiting events now, as the one-second timer would. */
  const flush = (): Promise<void> => (server.server.ctx.audit as AuditLog).flush();
  const search = async (query: string): Promise<AuditEvent[]> => {
    await flush();
    const found = await http(server, 'GET', `AuditEvent?${query}&_count=200`);
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    return ((found.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  };
  const subtypeOf = (event: AuditEvent): string | undefined => event.subtype?.[0]?.code;

  beforeAll(async () => {
    server = await startTestServer(kind, { audit: AUDIT });
    patient = (await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Placeholder', given: ['Rowan'] }] } })).body.id;
    user = { ...server, token: await issueTestToken(server, 'user/*.rs', '1h', { fhirUser: ROLE }) };
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('records a read with the user, the resource and its patient, searchable by patient, agent, entity, action and date', async () => {
    const goal = (await http(server, 'POST', 'Goal', { body: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Cook a meal' }, subject: { reference: `Patient/${patient}` } } })).body.id;
    const since = new Date(Date.now() - 1000).toISOString();
    expect((await http(user, 'GET', `Goal/${goal}`)).status).toBe(200);
    const events = await search(`agent=${ROLE}&entity=Goal/${goal}&action=R&date=ge${since}`);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({ type: { code: 'rest' }, action: 'R', outcome: '0' });
    expect(subtypeOf(event)).toBe('read');
    expect(event.agent[0]).toMatchObject({ who: { reference: ROLE }, requestor: true, altId: 'test-client' });
    expect(event.entity?.map((e) => e.what?.reference)).toEqual([`Patient/${patient}`, `Goal/${goal}/_history/1`]);
    const byPatient = await search(`patient=Patient/${patient}&agent=${ROLE}`);
    expect(byPatient.map((e) => e.id)).toContain(event.id);
  });

  it('records a search with its query, a write at once, and an operation', async () => {
    await http(user, 'GET', `Goal?patient=${patient}&lifecycle-status=active`);
    const searches = await search(`agent=${ROLE}&subtype=search-type`);
    expect(searches.length).toBeGreaterThan(0);
    const query = searches[0].entity?.find((e) => e.role?.code === '24');
    expect(Buffer.from(query?.query ?? '', 'base64').toString()).toBe(`Goal?patient=${patient}&lifecycle-status=active`);
    expect(searches[0].entity?.[0].what?.reference).toBe(`Patient/${patient}`);

    const created = await http(server, 'POST', 'Observation', {
      body: { resourceType: 'Observation', status: 'final', code: { text: 'Weight' }, subject: { reference: `Patient/${patient}` } },
    });
    // A write's event is stored before the response: no flush needed to find it.
    const writes = await http(server, 'GET', `AuditEvent?entity=Observation/${created.body.id}&action=C`);
    expect((writes.body as Bundle).entry).toHaveLength(1);
    expect(((writes.body as Bundle).entry?.[0].resource as AuditEvent).entity?.[0].what?.reference).toBe(`Patient/${patient}`);

    await http(server, 'GET', `Patient/${patient}/$everything`);
    const operations = await search(`patient=${patient}&subtype=operation&action=E`);
    expect(operations.length).toBe(1);
  });

  it('groups the reads of one user on one patient within a flush window into one valid AuditEvent, one entity per read, each read still found by patient, agent, entity, date, action and outcome', async () => {
    await flush();
    const goals: string[] = [];
    for (const text of ['Walk', 'Swim']) {
      goals.push((await http(server, 'POST', 'Goal', { body: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text }, subject: { reference: `Patient/${patient}` } } })).body.id);
    }
    // The earlier tests' reads by the same user were stored before: this window's begins now.
    const since = new Date().toISOString();
    for (const path of [`Goal/${goals[0]}`, `Goal/${goals[1]}`, `Goal/${goals[0]}`, `Patient/${patient}`]) expect((await http(user, 'GET', path)).status).toBe(200);
    const [event, ...others] = await search(`agent=${ROLE}&action=R&outcome=0&date=ge${since}`);
    expect(others).toEqual([]);
    expect(event?.entity?.map((e) => e.what?.reference)).toEqual([
      `Patient/${patient}`,
      `Goal/${goals[0]}/_history/1`,
      `Goal/${goals[1]}/_history/1`,
      `Goal/${goals[0]}/_history/1`,
      `Patient/${patient}/_history/1`,
    ]);
    // The number of reads it records: its entities that are not the patient's.
    expect(event?.entity?.filter((e) => e.role?.code !== '1')).toHaveLength(4);
    expect(Date.parse(event?.period?.start ?? '')).toBeLessThanOrEqual(Date.parse(event?.period?.end ?? ''));
    for (const query of [`entity=Goal/${goals[1]}`, `patient=${patient}&action=R`, `entity=Patient/${patient}&agent=${ROLE}&outcome=0`]) {
      expect((await search(query)).map((e) => e.id), query).toContain(event?.id);
    }
    // A valid R4 AuditEvent by the server's own validator.
    const validated = await http(server, 'POST', 'AuditEvent/$validate', { body: event });
    expect(validated.status).toBe(200);
    expect((validated.body as OperationOutcome).issue?.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
  });

  it('records one AuditEvent per read with AUDIT_READ_GROUPING off', async () => {
    const other = await startTestServer(kind, { audit: { ...AUDIT, readGrouping: false } });
    const id = (await http(other, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Ungrouped' }] } })).body.id;
    for (let n = 0; n < 3; n++) expect((await http(other, 'GET', `Patient/${id}`)).status).toBe(200);
    await (other.server.ctx.audit as AuditLog).flush();
    const found = ((await http(other, 'GET', `AuditEvent?entity=Patient/${id}&action=R`)).body as Bundle).entry ?? [];
    expect(found.map((e) => (e.resource as AuditEvent).entity?.map((entity) => entity.what?.reference))).toEqual(Array(3).fill([`Patient/${id}/_history/1`]));
    await other.stop();
  });

  it('records refused requests: no token (401), a scope that does not allow it (403), a missing resource (404), with outcome and reason', async () => {
    expect((await http(server, 'GET', `Patient/${patient}`, { headers: { authorization: '' } })).status).toBe(401);
    expect((await http(user, 'POST', 'Goal', { body: { resourceType: 'Goal' } })).status).toBe(403);
    expect((await http(user, 'GET', 'Goal/no-such-goal')).status).toBe(404);
    const failures = await search('outcome=4');
    const unauthenticated = failures.find((e) => e.entity?.[0]?.what?.reference === `Patient/${patient}` && e.outcomeDesc?.startsWith('401'));
    expect(unauthenticated?.agent[0].who?.display).toBe('unauthenticated caller');
    const forbidden = failures.find((e) => e.agent[0].who?.reference === ROLE && e.action === 'C');
    expect(forbidden?.outcomeDesc).toMatch(/^403: /);
    const missing = failures.find((e) => e.entity?.some((entity) => entity.what?.reference === 'Goal/no-such-goal'));
    expect(missing?.outcomeDesc).toMatch(/^404: /);
    // Found by outcome and agent together as well.
    expect((await search(`outcome=4&agent=${ROLE}`)).length).toBeGreaterThanOrEqual(2);
  });

  it('records a transaction once, naming each entry it wrote', async () => {
    const response = await http(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'one' }, subject: { reference: `Patient/${patient}` } }, request: { method: 'POST', url: 'Goal' } },
          { resource: { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'two' }, subject: { reference: `Patient/${patient}` } }, request: { method: 'POST', url: 'Goal' } },
        ],
      },
    });
    const ids = ((response.body as Bundle).entry ?? []).map((e) => (e.response?.location ?? '').replace(/^.*\/fhir\//, '').replace(/\/_history\/\d+$/, ''));
    for (const id of ids) {
      const events = await search(`entity=${id}`);
      expect(events.map(subtypeOf)).toEqual(['transaction']);
    }
  });

  it('stores the reads still waiting when the server stops', async () => {
    const other = await startTestServer(kind, { audit: { ...AUDIT, flushMs: 1000 } });
    const id = (await http(other, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Shutdown' }] } })).body.id;
    expect((await http(other, 'GET', `Patient/${id}`)).status).toBe(200);
    await other.server.close();
    const rows = await other.db.query<{ content: string }>("SELECT content FROM resource WHERE resource_type = 'AuditEvent'");
    const events = rows.map((row) => JSON.parse(row.content) as AuditEvent);
    expect(events.filter((e) => e.action === 'R' && e.entity?.[0]?.what?.reference?.startsWith(`Patient/${id}`))).toHaveLength(1);
    await other.db.close();
  });

  it('AUDIT_RETENTION_DAYS removes older AuditEvents with their history and index rows, and keeps newer ones', async () => {
    await flush();
    const [old] = await search(`entity=Goal/no-such-goal`);
    const oldId = old.id as string;
    await server.db.query("UPDATE resource SET last_updated = now() - interval '40 days' WHERE resource_type = 'AuditEvent' AND id = $1", [oldId]);
    const removed = await pruneAuditEvents(server.db, 30);
    expect(removed).toBe(1);
    expect(await search(`entity=Goal/no-such-goal`)).toHaveLength(0);
    const leftovers = await server.db.query(
      "SELECT 1 FROM resource_history WHERE resource_type = 'AuditEvent' AND id = $1 UNION ALL SELECT 1 FROM sp_reference WHERE resource_type = 'AuditEvent' AND resource_id = $1",
      [oldId],
    );
    expect(leftovers).toHaveLength(0);
    expect((await search(`patient=${patient}`)).length).toBeGreaterThan(0);
  });
});
