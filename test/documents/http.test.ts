import { readFileSync } from 'node:fs';
import type { Bundle, CapabilityStatement, CarePlan, Goal, Observation, OperationDefinition, Parameters, QuestionnaireResponse, ServiceRequest } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listExampleDocuments } from '../../src/documents/example-documents.ts';
import type { BspDocument } from '../../src/documents/bsp/bsp-types.ts';
import type { IspDocument } from '../../src/documents/isp/isp-types.ts';
import type { PlanDocument } from '../../src/documents/plan-document.ts';
import { http, issueTestToken, startTestServer, type TestServer } from '../harness.ts';
import { checkDocument } from '../../src/documents/check-document.ts';
import { exampleFiles, examplesDirectory, readExample } from './examples.ts';

/** The document operations through the real server (PGlite), with fhir-kit-client for FHIR reads. */

function parameter(parameters: Parameters, name: string): NonNullable<Parameters['parameter']>[number] | undefined {
  return parameters.parameter?.find((p) => p.name === name);
}

async function importJson(server: TestServer, doc: unknown): Promise<{ status: number; body: Parameters & { issue?: { location?: string[]; diagnostics?: string }[] } }> {
  return http(server, 'POST', 'CarePlan/$import-document', { raw: JSON.stringify(doc), headers: { 'content-type': 'application/json' } });
}

async function countOf(server: TestServer, resourceType: string): Promise<number> {
  const bundle = (await server.client.search({ resourceType, searchParams: { _summary: 'count' } })) as Bundle;
  return bundle.total ?? 0;
}

describe('CarePlan/$import-document, $document and $render', () => {
  let server: TestServer;
  const carePlanIds = new Map<string, string>();
  const originals = listExampleDocuments().filter((e) => !e.file.startsWith('updates/'));

  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('imports every example document (PCSP first, then BSP and ISP) with 201 and the plan reference', async () => {
    for (const { file, document } of originals) {
      const response = file.endsWith('.yaml')
        ? await http(server, 'POST', 'CarePlan/$import-document', { raw: readFileSync(new URL(file, examplesDirectory), 'utf8'), headers: { 'content-type': 'application/yaml' } })
        : await importJson(server, document);
      expect(response.status, `${file}: ${JSON.stringify(response.body)}`).toBe(201);
      const body = response.body as Parameters;
      expect(parameter(body, 'planId')?.valueString).toBe(document.planId);
      expect(parameter(body, 'documentType')?.valueCode).toBe(document.documentType);
      expect(parameter(body, 'created')?.valueInteger).toBeGreaterThan(5);
      expect((parameter(body, 'return')?.resource as Bundle).type).toBe('transaction-response');
      const reference = parameter(body, 'carePlan')?.valueReference?.reference ?? '';
      expect(reference).toMatch(/^CarePlan\/[A-Za-z0-9-]+$/);
      carePlanIds.set(document.planId, reference.slice('CarePlan/'.length));
    }
  });

  it('returns each document deep-equal from $document', async () => {
    for (const { document } of originals) {
      const response = await http(server, 'GET', `CarePlan/${carePlanIds.get(document.planId)}/$document`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toStrictEqual(document);
    }
  });

  it('stores Kansas-profiled resources readable with a FHIR client', async () => {
    const plan = (await server.client.read({ resourceType: 'CarePlan', id: carePlanIds.get('BSP-TEST-AVERY-2026')! })) as CarePlan;
    expect(plan.meta?.profile).toEqual(['https://kanplan.org/fhir/StructureDefinition/ks-bsp-careplan']);
    expect(plan.partOf?.[0]?.reference).toBe(`CarePlan/${carePlanIds.get('PCSP-TEST-AVERY-2026')}`);
    expect(plan.text?.div).toContain('Behavior Support Plan for Avery Example');
  });

  it('re-importing an unchanged document writes nothing', async () => {
    const doc = readExample('avery-example.pcsp.json');
    const before = await countOf(server, 'Goal');
    const response = await importJson(server, doc);
    expect(response.status).toBe(200);
    expect(parameter(response.body, 'created')?.valueInteger).toBe(0);
    expect(parameter(response.body, 'updated')?.valueInteger).toBe(0);
    expect(parameter(response.body, 'unchanged')?.valueInteger).toBeGreaterThan(5);
    expect(await countOf(server, 'Goal')).toBe(before);
    const plan = (await server.client.read({ resourceType: 'CarePlan', id: carePlanIds.get(doc.planId)! })) as CarePlan;
    expect(plan.meta?.versionId).toBe('1');
  });

  it('stores the functional assessment as one QuestionnaireResponse, found by identifier, named by the plan and derivedFrom of the result Observation', async () => {
    const planItem = (value: string): Record<string, string> => ({ identifier: `https://kanplan.org/fhir/sid/ks-plan-item|PCSP-TEST-AVERY-2026/${value}` });
    const responses = (await server.client.search({ resourceType: 'QuestionnaireResponse', searchParams: planItem('assessment/questionnaire-response') })) as Bundle<QuestionnaireResponse>;
    expect(responses.entry?.map((e) => [e.resource?.status, e.resource?.authored, e.resource?.questionnaire])).toEqual([
      ['completed', '2026-08-15', 'https://kanplan.org/fhir/Questionnaire/ks-functional-assessment-basis'],
    ]);
    const id = responses.entry![0]!.resource!.id;
    const plan = (await server.client.read({ resourceType: 'CarePlan', id: carePlanIds.get('PCSP-TEST-AVERY-2026')! })) as CarePlan;
    expect(plan.supportingInfo?.map((r) => r.reference)).toContain(`QuestionnaireResponse/${id}`);
    const tier = (await server.client.search({ resourceType: 'Observation', searchParams: planItem('assessment/tier') })) as Bundle<Observation>;
    expect(tier.entry?.[0]?.resource?.derivedFrom).toEqual([{ reference: `QuestionnaireResponse/${id}` }]);
  });

  it('answers 201 for a new plan of a person who already has one (the Patient itself unchanged)', async () => {
    const doc = { ...(readExample('casey-fictional.pcsp.json') as PlanDocument), planId: 'PCSP-TEST-CASEY-2027' };
    const response = await importJson(server, doc);
    expect(response.status).toBe(201);
    expect(parameter(response.body, 'created')?.valueInteger).toBeGreaterThan(5);
    const again = await importJson(server, doc);
    expect(again.status).toBe(200);
  });

  it('rejects a document that fails its schema with 400, one issue per error with JSON pointers, and writes nothing', async () => {
    const before = await countOf(server, 'CarePlan');
    const doc = { ...(readExample('avery-example.pcsp.json') as unknown as Record<string, unknown>), planId: 'PCSP-TEST-NEW', status: 'finished', nextReviewDate: '31/12/2027' };
    const response = await importJson(server, doc);
    expect(response.status).toBe(400);
    expect(response.body.issue?.map((i) => i.location?.[0]).sort()).toEqual(['/nextReviewDate', '/status']);
    expect(response.body.issue?.find((i) => i.location?.[0] === '/nextReviewDate')?.diagnostics).toBe('/nextReviewDate must be a date written YYYY-MM-DD, e.g. 2026-01-31.');
    expect(await countOf(server, 'CarePlan')).toBe(before);
  });

  it('rejects every invalid example (one per rule family) with 400 located by JSON pointer, writing nothing', async () => {
    const before = await countOf(server, 'CarePlan');
    for (const file of exampleFiles('invalid/')) {
      const expected = checkDocument(readExample(file));
      const response = await importJson(server, readExample(file));
      expect(response.status, file).toBe(400);
      expect(response.body.issue?.map((i) => i.location?.[0]), file).toEqual(expected.ok ? [] : expected.problems.map((p) => p.pointer));
    }
    expect(await countOf(server, 'CarePlan')).toBe(before);
  });

  it('rejects malformed YAML with 400', async () => {
    const response = await http(server, 'POST', 'CarePlan/$import-document', { raw: 'documentType: [pcsp', headers: { 'content-type': 'application/yaml' } });
    expect(response.status).toBe(400);
    expect(response.text).toContain('not valid YAML');
  });

  it('rejects a BSP whose PCSP was never imported, writing nothing', async () => {
    const before = await countOf(server, 'Condition');
    const bsp = { ...(readExample('avery-example.bsp.json') as unknown as Record<string, unknown>), planId: 'BSP-TEST-ORPHAN', pcspPlanId: 'PCSP-TEST-MISSING' };
    const response = await importJson(server, bsp);
    expect(response.status).toBe(422);
    expect(response.body.issue?.map((i) => [i.location?.[0], i.diagnostics])).toEqual([['/pcspPlanId', '/pcspPlanId PCSP-TEST-MISSING: no PCSP with this plan id is stored; import it first.']]);
    expect(await countOf(server, 'Condition')).toBe(before);
  });

  it('rejects an ISP whose BSP is missing, or a plan id of the wrong type, with 422 at the pointer, writing nothing', async () => {
    const before = await countOf(server, 'CarePlan');
    const isp = { ...(readExample('avery-example.isp.json') as IspDocument), planId: 'ISP-TEST-ORPHAN', bspPlanId: 'BSP-TEST-MISSING' };
    const missing = await importJson(server, isp);
    expect(missing.status).toBe(422);
    expect(missing.body.issue?.map((i) => i.location?.[0])).toEqual(['/bspPlanId']);
    const wrongType = await importJson(server, { ...isp, pcspPlanId: 'BSP-TEST-AVERY-2026', bspPlanId: 'BSP-TEST-AVERY-2026' });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.issue?.map((i) => [i.location?.[0], i.diagnostics])).toEqual([['/pcspPlanId', '/pcspPlanId BSP-TEST-AVERY-2026 is not a PCSP.']]);
    expect(await countOf(server, 'CarePlan')).toBe(before);
  });

  it('imports an update: same plan, changed needs and services, removed ones ended', async () => {
    const update = readExample('updates/avery-example.pcsp.update-1.json') as PlanDocument;
    const response = await importJson(server, update);
    expect(response.status).toBe(200);
    expect(parameter(response.body, 'carePlan')?.valueReference?.reference).toBe(`CarePlan/${carePlanIds.get(update.planId)}`);
    expect(parameter(response.body, 'updated')?.valueInteger).toBeGreaterThan(0);
    const exported = await http(server, 'GET', `CarePlan/${carePlanIds.get(update.planId)}/$document`);
    expect(exported.body).toStrictEqual(update);
    const goals = (await server.client.search({ resourceType: 'Goal', searchParams: { identifier: 'https://kanplan.org/fhir/sid/ks-plan-item|PCSP-TEST-AVERY-2026/goal/G2' } })) as Bundle<Goal>;
    expect(goals.entry?.map((e) => e.resource?.lifecycleStatus)).toEqual(['cancelled']);
    const services = (await server.client.search({ resourceType: 'ServiceRequest', searchParams: { identifier: 'https://kanplan.org/fhir/sid/ks-plan-item|PCSP-TEST-AVERY-2026/service/S2' } })) as Bundle<ServiceRequest>;
    expect(services.entry?.map((e) => e.resource?.status)).toEqual(['revoked']);
  });

  it('ends what a new BSP or ISP version drops (consent inactive, PRN cancelled, authorization revoked, flag inactive), validly', async () => {
    const identifierOf = (value: string): Record<string, string> => ({ identifier: `https://kanplan.org/fhir/sid/ks-plan-item|${value}` });
    const statusOf = async (resourceType: string, value: string): Promise<unknown[]> =>
      (((await server.client.search({ resourceType, searchParams: identifierOf(value) })) as Bundle).entry ?? []).map((e) => (e.resource as { status?: string }).status);
    const { restrictiveInterventions: _ri, prnMedications: _prn, ...bspRest } = readExample('avery-example.bsp.json') as BspDocument;
    const bsp: BspDocument = { ...bspRest, status: 'active' };
    expect((await importJson(server, bsp)).status).toBe(200);
    expect((await http(server, 'GET', `CarePlan/${carePlanIds.get(bsp.planId)}/$document`)).body).toStrictEqual(bsp);
    expect(await statusOf('Consent', 'BSP-TEST-AVERY-2026/restrictive-intervention-consent/RI1')).toEqual(['inactive']);
    expect(await statusOf('Consent', 'BSP-TEST-AVERY-2026/prn-consent/PRN1')).toEqual(['inactive']);
    expect(await statusOf('MedicationRequest', 'BSP-TEST-AVERY-2026/prn-medication/PRN1')).toEqual(['cancelled']);

    const original = readExample('avery-example.isp.json') as IspDocument;
    const { highRiskFlags: _flags, medications: _meds, ...primaryCare } = original.primaryCare;
    const isp: IspDocument = { ...original, authorizedServices: original.authorizedServices.slice(0, 1), primaryCare };
    expect((await importJson(server, isp)).status).toBe(200);
    expect((await http(server, 'GET', `CarePlan/${carePlanIds.get(isp.planId)}/$document`)).body).toStrictEqual(isp);
    expect(await statusOf('ServiceRequest', 'ISP-TEST-AVERY-2026/authorized-service/AS2')).toEqual(['revoked']);
    expect(await statusOf('Flag', 'ISP-TEST-AVERY-2026/high-risk-flag/complex-behavioral-health')).toEqual(['inactive']);
    expect(await statusOf('MedicationStatement', 'ISP-TEST-AVERY-2026/medication/M1')).toEqual(['stopped']);
  });

  it('renders a printable HTML page with $render', async () => {
    const response = await http(server, 'GET', `CarePlan/${carePlanIds.get('ISP-TEST-AVERY-2026')}/$render`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.text).toContain('<h1>Integrated Service Plan for Avery Example</h1>');
    expect(response.text).toContain('AUTH-TEST-0001');
  });

  it('answers 422 for $document on a CarePlan that was not imported from a document', async () => {
    const plan = (await server.client.create({
      resourceType: 'CarePlan',
      body: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: `Patient/${'x'}` } },
    })) as CarePlan;
    const response = await http(server, 'GET', `CarePlan/${plan.id}/$document`);
    expect(response.status).toBe(422);
  });

  it('needs read access to everything the document shows, not just CarePlan', async () => {
    const id = carePlanIds.get('PCSP-TEST-RILEY-2026');
    const carePlanOnly = await issueTestToken(server.server, 'system/CarePlan.rs');
    const denied = await http(server, 'GET', `CarePlan/${id}/$document`, { headers: { authorization: `Bearer ${carePlanOnly}` } });
    expect(denied.status).toBe(403);
    const everything = await issueTestToken(server.server, 'system/*.rs');
    const allowed = await http(server, 'GET', `CarePlan/${id}/$render`, { headers: { authorization: `Bearer ${everything}` } });
    expect(allowed.status).toBe(200);
  });

  it('translates a profile error of one written resource back to the document part, writing nothing', async () => {
    // No schema-valid example fails a Kansas profile, so the server's validator is made to reject
    // one goal the way a profile rule would.
    const validator = server.server.ctx.validator;
    const original = validator.validate.bind(validator);
    const spy = vi.spyOn(validator, 'validate').mockImplementation((resource, options) =>
      resource.resourceType === 'Goal' && resource.description.text === 'Rejected goal'
        ? [{ severity: 'error', code: 'invariant', details: { text: 'Goal.target: a test rule failed' }, expression: ['Goal.target[0]'] }]
        : original(resource, options),
    );
    try {
      const doc = readExample('casey-fictional.pcsp.json') as unknown as { planId: string; goals: { description: string }[] };
      const changed = { ...doc, planId: 'PCSP-TEST-CASEY-REJECTED', goals: [{ ...doc.goals[0]!, description: 'Rejected goal' }] };
      const before = await countOf(server, 'CarePlan');
      const response = await importJson(server, changed);
      // The validator's status: 400 for base R4, 422 for a profile rule (FHIR RESTful API, update).
      expect([400, 422], JSON.stringify(response.body)).toContain(response.status);
      expect(response.body.issue?.[0]?.location).toEqual(['/goals/0']);
      expect(response.body.issue?.[0]?.diagnostics).toMatch(/^\/goals\/0: /);
      expect(await countOf(server, 'CarePlan')).toBe(before);
    } finally {
      spy.mockRestore();
    }
  });

  it('lists the three operations in the CapabilityStatement', async () => {
    const capabilities = (await server.client.capabilityStatement()) as CapabilityStatement;
    const carePlan = capabilities.rest?.[0]?.resource?.find((r) => r.type === 'CarePlan');
    expect(carePlan?.operation?.map((o) => o.name)).toEqual(expect.arrayContaining(['import-document', 'document', 'render']));
  });

  it('serves the OperationDefinition each CapabilityStatement entry names', async () => {
    const capabilities = (await server.client.capabilityStatement()) as CapabilityStatement;
    const carePlan = capabilities.rest?.[0]?.resource?.find((r) => r.type === 'CarePlan');
    for (const code of ['import-document', 'document', 'render']) {
      const definition = carePlan?.operation?.find((o) => o.name === code)?.definition;
      const found = (await server.client.search({ resourceType: 'OperationDefinition', searchParams: { url: definition ?? '' } })) as Bundle<OperationDefinition>;
      expect(found.entry?.map((e) => [e.resource?.code, e.resource?.resource, e.resource?.instance])).toEqual([[code, ['CarePlan'], code !== 'import-document']]);
    }
    const read = (await server.client.read({ resourceType: 'OperationDefinition', id: 'CarePlan-import-document' })) as OperationDefinition;
    expect(read.parameter?.map((p) => p.name)).toEqual(['return', 'carePlan', 'planId', 'documentType', 'created', 'updated', 'unchanged']);
  });
});

describe('$import-document with a shorter review interval configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No Kansas-specific review interval was found (domain.md), so it is a setting, not a constant.
    server = await startTestServer('pglite', { planReviewIntervalMonths: 6 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('rejects a plan reviewed later than PLAN_REVIEW_INTERVAL_MONTHS after its start, writing nothing', async () => {
    const doc = readExample('avery-example.pcsp.json') as PlanDocument;
    const response = await importJson(server, doc);
    expect(response.status).toBe(400);
    expect(response.body.issue?.map((i) => i.location?.[0])).toEqual(['/nextReviewDate']);
    expect(response.body.issue?.[0]?.diagnostics).toContain('more than 6 months after the plan starts');
    expect(await countOf(server, 'CarePlan')).toBe(0);
  });
});
