import type { Bundle, CapabilityStatement, CarePlan, OperationOutcome, Patient } from '@medplum/fhirtypes';
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

  it('CapabilityStatement lists search parameters with documentation, Kansas ones included', async () => {
    const cs = (await server.client.capabilityStatement()) as CapabilityStatement;
    const carePlan = cs.rest?.[0].resource?.find((r) => r.type === 'CarePlan');
    const names = carePlan?.searchParam?.map((p) => p.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['subject', 'status', 'category', 'date', 'plan-type', 'mco']));
    expect(carePlan?.searchParam?.find((p) => p.name === 'subject')?.documentation).toBeTruthy();
  });
});
