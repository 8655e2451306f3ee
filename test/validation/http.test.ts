import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Bundle,
  CapabilityStatement,
  CarePlan,
  OperationOutcome,
  OperationOutcomeIssue,
  Parameters,
  Patient,
  Resource,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKansasPackage } from '../../src/conformance/kansas-package.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator } from '../../src/validation/validator.ts';
import { http, startTestServer, type TestServer } from '../harness.ts';

/** Validation on write, $validate and the terminology operations over HTTP (real server, PGlite). */

const KS = 'https://kanplan.org/fhir';
const examples = join(import.meta.dirname, '..', '..', 'bundles', 'examples');
const read = (kind: string, name: string): CarePlan => JSON.parse(readFileSync(join(examples, kind, `${name}.json`), 'utf8')) as CarePlan;

describe('Kansas validation over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('accepts a conforming KS PCSP CarePlan and rejects a non-conforming one with 422 and one issue per problem', async () => {
    const { id: _id, ...valid } = read('valid', 'ks-pcsp-careplan');
    const created = await http(server, 'POST', 'CarePlan', { body: valid });
    expect(created.status).toBe(201);

    const { id: _bad, ...invalid } = read('invalid', 'ks-pcsp-careplan-rights-modification-incomplete');
    const rejected = await http(server, 'POST', 'CarePlan', { body: invalid });
    // Valid base R4; only the ks-rights-modification extension definition rejects it.
    expect(rejected.status).toBe(422);
    const outcome = rejected.body as OperationOutcome;
    expect(outcome.issue.map((i) => [i.severity, i.expression?.[0]])).toEqual([
      ['error', 'CarePlan.extension[2].extension'],
      ['error', 'CarePlan.extension[2].extension[7].valueBoolean'],
    ]);
    expect(outcome.issue[0].diagnostics).toContain(`${KS}/StructureDefinition/ks-rights-modification`);
  });

  it('stores a resource claiming an unknown profile and says so in the outcome (a warning, not a silent pass)', async () => {
    const { id: _id, ...goal } = read('valid', 'ks-goal');
    const unknown = 'https://example.org/fhir/StructureDefinition/not-known';
    const body = { ...goal, meta: { profile: [unknown] } };
    const created = await http(server, 'POST', 'Goal', { body, headers: { prefer: 'return=OperationOutcome' } });
    expect(created.status).toBe(201);
    expect((created.body as OperationOutcome).issue.map((i) => [i.severity, i.code, i.expression?.[0]])).toEqual([
      ['warning', 'not-supported', 'Goal.meta.profile[0]'],
    ]);
  });

  it('validates a Kansas plan without meta.profile against its Kansas profile on write', async () => {
    const { id: _id, meta: _meta, ...noProfile } = read('invalid', 'ks-bsp-careplan-missing-part-of');
    const rejected = await http(server, 'POST', 'CarePlan', { body: noProfile });
    expect(rejected.status).toBe(422);
    expect((rejected.body as OperationOutcome).issue.map((i) => i.expression?.[0])).toEqual(['CarePlan.partOf']);
  });

  // https://hl7.org/fhir/R4/http.html#update: 400 "failed basic FHIR validation rules", 422
  // "violated applicable FHIR profiles or server business rules".
  it('a write that breaks base R4 is 400 even when it also breaks its profile; one that breaks only profiles is 422', async () => {
    const { id: _id, ...valid } = read('valid', 'ks-pcsp-careplan');
    const base: [string, Record<string, unknown>][] = [
      ['unknown element', { ...valid, nickname: 'x' }],
      ['wrong type', { ...valid, created: 'yesterday' }],
      ['base cardinality', { ...valid, status: undefined }],
      ['base required binding', { ...valid, status: 'bogus' }],
      // A profile error next to a base one: still not basic-valid FHIR.
      ['base and profile', { ...valid, status: 'bogus', intent: 'order' }],
    ];
    for (const [what, body] of base) {
      const res = await http(server, 'POST', 'CarePlan', { body });
      expect(res.status, what).toBe(400);
    }
    const profileOnly: [string, Record<string, unknown>][] = [
      ['pattern (intent plan)', { ...valid, intent: 'order' }],
      ['profile cardinality (description 1..1)', { ...valid, description: undefined }],
      ['required slice (plan type category)', { ...valid, category: valid.category?.filter((c) => !c.coding?.some((x) => x.system === `${KS}/CodeSystem/ks-plan-type`)) }],
      ['extension definition binding (waiver program)', { ...valid, extension: valid.extension?.map((e) => (e.url.endsWith('ks-waiver-program') ? { ...e, valueCodeableConcept: { coding: [{ system: `${KS}/CodeSystem/ks-waiver-program`, code: 'XX' }] } } : e)) }],
    ];
    for (const [what, body] of profileOnly) {
      const res = await http(server, 'POST', 'CarePlan', { body });
      expect(res.status, what).toBe(422);
      expect((res.body as OperationOutcome).issue.some((i) => i.severity === 'error'), what).toBe(true);
    }
  });

  it('PATCH and batch entries follow the same rule: 422 for a profile violation, 400 for a base one', async () => {
    const { id: _id, ...valid } = read('valid', 'ks-pcsp-careplan');
    const created = await http(server, 'POST', 'CarePlan', { body: valid });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const patch = (value: string): Promise<{ status: number }> =>
      http(server, 'PATCH', `CarePlan/${id}`, {
        body: [{ op: 'replace', path: '/intent', value }],
        headers: { 'content-type': 'application/json-patch+json' },
      });
    expect((await patch('order')).status).toBe(422);
    expect((await patch('sideways')).status).toBe(400);
    const batch: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { ...valid, intent: 'order' } as CarePlan, request: { method: 'POST', url: 'CarePlan' } },
        { resource: { ...valid, intent: 'sideways' } as unknown as CarePlan, request: { method: 'POST', url: 'CarePlan' } },
      ],
    };
    const response = (await http(server, 'POST', '', { body: batch })).body as Bundle;
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['422 Unprocessable Entity', '400 Bad Request']);
    // The search test below counts PCSPs.
    expect((await http(server, 'DELETE', `CarePlan/${id}`)).status).toBe(200);
  });

  it('POST [type]/$validate answers 200 with the issues, and stores nothing', async () => {
    const ok = await http(server, 'POST', 'CarePlan/$validate', { body: read('valid', 'ks-isp-careplan') });
    expect(ok.status).toBe(200);
    expect((ok.body as OperationOutcome).issue[0].severity).toBe('information');
    const bad = await http(server, 'POST', 'CarePlan/$validate', { body: read('invalid', 'ks-pcsp-careplan-bogus-status') });
    expect(bad.status).toBe(200);
    expect((bad.body as OperationOutcome).issue.map((i) => [i.severity, i.code])).toEqual([['error', 'code-invalid']]);
    const search = await http(server, 'GET', 'CarePlan?_id=invalid-status');
    expect((search.body as Bundle).entry ?? []).toHaveLength(0);
  });

  it('$validate with a profile parameter and at instance level', async () => {
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/x' } } },
        { name: 'profile', valueUri: `${KS}/StructureDefinition/ks-pcsp-careplan` },
      ],
    };
    const result = await http(server, 'POST', 'CarePlan/$validate', { body });
    expect(result.status).toBe(200);
    expect((result.body as OperationOutcome).issue.some((i) => i.severity === 'error')).toBe(true);

    const { id: _id, ...goal } = read('valid', 'ks-goal');
    const created = await http(server, 'POST', 'Goal', { body: goal });
    const instance = await http(server, 'GET', `Goal/${created.body.id}/$validate`);
    expect(instance.status).toBe(200);
    expect((instance.body as OperationOutcome).issue[0].severity).toBe('information');
    expect((await http(server, 'GET', 'Goal/does-not-exist/$validate')).status).toBe(404);
  });

  it('ValueSet/$expand with filter, at type and instance level', async () => {
    const typeLevel = await http(server, 'GET', `ValueSet/$expand?url=${encodeURIComponent(`${KS}/ValueSet/ks-waiver-program`)}&filter=disab`);
    expect(typeLevel.status).toBe(200);
    expect((typeLevel.body as ValueSet).expansion?.contains?.map((c) => c.code)).toEqual(['PD', 'IDD']);
    const instance = await http(server, 'GET', 'ValueSet/ks-mco/$expand');
    expect(instance.status).toBe(200);
    expect((instance.body as ValueSet).expansion?.total).toBe(5);
  });

  it('ValueSet/$validate-code and CodeSystem/$lookup', async () => {
    const vc = await http(server, 'GET', `ValueSet/ks-task-type/$validate-code?system=${encodeURIComponent(`${KS}/CodeSystem/ks-task-type`)}&code=ane-report`);
    expect(vc.status).toBe(200);
    expect((vc.body as Parameters).parameter?.find((p) => p.name === 'result')?.valueBoolean).toBe(true);
    const lookup = await http(server, 'GET', `CodeSystem/$lookup?system=${encodeURIComponent(`${KS}/CodeSystem/ks-plan-type`)}&code=isp`);
    expect(lookup.status).toBe(200);
    expect((lookup.body as Parameters).parameter?.find((p) => p.name === 'display')?.valueString).toBe('Integrated Service Plan (ISP)');
    expect((await http(server, 'GET', `CodeSystem/$lookup?system=${encodeURIComponent(`${KS}/CodeSystem/ks-plan-type`)}&code=nope`)).status).toBe(404);
  });

  it('searches on the Kansas SearchParameters from profiles/ (waiver program, plan type, review due date, MCO, authorization number)', async () => {
    for (const name of ['ks-isp-careplan', 'ks-authorized-service']) {
      const { id: _id, ...body } = read('valid', name);
      expect((await http(server, 'POST', body.resourceType, { body })).status).toBe(201);
    }
    const count = async (query: string): Promise<number> => ((await http(server, 'GET', query)).body as Bundle).entry?.length ?? 0;
    expect(await count('CarePlan?plan-type=pcsp')).toBe(1);
    expect(await count('CarePlan?plan-type=isp')).toBe(1);
    expect(await count(`CarePlan?waiver-program=${encodeURIComponent(`${KS}/CodeSystem/ks-waiver-program|IDD`)}`)).toBe(2);
    expect(await count('CarePlan?waiver-program=FE')).toBe(0);
    expect(await count('CarePlan?review-due-date=le2026-12-31')).toBe(1);
    expect(await count('CarePlan?review-due-date=lt2026-06-01')).toBe(0);
    expect(await count('CarePlan?mco=sunflower')).toBe(1);
    expect(await count('ServiceRequest?authorization-number=AUTH-TEST-0001')).toBe(1);
    expect(await count('ServiceRequest?authorization-number=AUTH-OTHER')).toBe(0);
  });

  it('serves the profiles and lists the same ones in the CapabilityStatement as the package', async () => {
    const url = `${KS}/StructureDefinition/ks-pcsp-careplan`;
    const found = await http(server, 'GET', `StructureDefinition?url=${encodeURIComponent(url)}`);
    expect(((found.body as Bundle).entry?.[0]?.resource as StructureDefinition | undefined)?.snapshot?.element?.length).toBeGreaterThan(0);
    const metadata = (await http(server, 'GET', 'metadata')).body as CapabilityStatement;
    const listed = (metadata.rest?.[0]?.resource ?? []).flatMap((r) => r.supportedProfile ?? []).sort();
    // The Kansas profiles, and the Subscriptions Backport profile the server supports for
    // topic-based Subscriptions (src/fhir/subscriptions/).
    const backport = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription';
    expect(listed).toEqual([...loadKansasPackage().profiles.map((p) => p.url), backport].sort());
    const carePlan = metadata.rest?.[0]?.resource?.find((r) => r.type === 'CarePlan');
    expect(carePlan?.operation?.map((o) => o.name)).toContain('validate');
  });
});

/** Every example in bundles/examples/, written through the API: what test/validation/examples.test.ts finds offline is what a write gets. */
describe('Kansas examples written over HTTP', () => {
  let server: TestServer;
  const validator = createResourceValidator(loadConformance());
  const files = (kind: 'valid' | 'invalid'): string[] => readdirSync(join(examples, kind)).filter((f) => f.endsWith('.json')).sort();
  const resourceOf = (kind: string, file: string): Resource => JSON.parse(readFileSync(join(examples, kind, file), 'utf8')) as Resource;
  const summary = (issues: readonly OperationOutcomeIssue[]): string[][] =>
    issues.map((i) => [i.severity, i.code, i.expression?.[0] ?? '', i.details?.text ?? '']);

  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('accepts every valid example (update-as-create at its id)', async () => {
    for (const file of files('valid')) {
      const resource = resourceOf('valid', file);
      const written = await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
      expect(written.status, file).toBe(201);
    }
  });

  /** The invalid examples that also break base R4 (a code outside a base required value set): 400; every other one breaks only its profile: 422. */
  const BREAKS_BASE_R4 = new Set([
    'ks-goal-bad-status-no-text.json', // Goal.lifecycleStatus 'done'
    'ks-pcsp-careplan-bogus-status.json', // CarePlan.status 'bogus'
    'ks-risk-assessment-no-mitigation.json', // RiskAssessment.status 'finished'
  ]);

  it('rejects every invalid example on create and on update with 400 or 422 and exactly the issues offline validation finds', async () => {
    for (const file of files('invalid')) {
      const resource = resourceOf('invalid', file);
      const expected = summary(validator.validate(resource));
      const status = BREAKS_BASE_R4.has(file) ? 400 : 422;
      const { id: _id, ...body } = resource;
      const created = await http(server, 'POST', resource.resourceType, { body });
      expect(created.status, file).toBe(status);
      expect(summary((created.body as OperationOutcome).issue), file).toEqual(expected);
      const updated = await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
      expect(updated.status, file).toBe(status);
      expect(summary((updated.body as OperationOutcome).issue), file).toEqual(expected);
      expect((await http(server, 'GET', `${resource.resourceType}/${resource.id}`)).status, file).toBe(404);
    }
  });

  it('validates transaction entries against their Kansas profiles: one invalid entry fails the bundle and nothing is written', async () => {
    const { id: _a, ...example } = resourceOf('valid', 'ks-patient.json');
    // A Medicaid ID no other test writes, so that finding none proves the rollback.
    const medicaidId = 'KS-TEST-ROLLBACK-0001';
    const patient: Patient = { ...(example as Patient), identifier: [{ system: 'https://kanplan.org/fhir/sid/ks-medicaid-id', value: medicaidId }] };
    const { id: _b, ...task } = resourceOf('invalid', 'ks-workflow-task-ane-not-stat.json');
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:0b7d1a52-0000-4000-8000-00000000a001', resource: patient, request: { method: 'POST', url: 'Patient' } },
        { resource: task, request: { method: 'POST', url: 'Task' } },
      ],
    };
    const result = await http(server, 'POST', '', { body: bundle });
    // ks-task-1 is a profile invariant: the failing entry's status, 422, is the bundle's.
    expect(result.status).toBe(422);
    const issues = (result.body as OperationOutcome).issue;
    expect(issues).toHaveLength(1);
    // A root-level invariant (expression `Task`) is about the entry's whole resource.
    expect(issues[0].expression).toEqual(['Bundle.entry[1].resource']);
    expect(issues[0].diagnostics).toContain('Bundle.entry[1] (POST Task)');
    expect(issues[0].diagnostics).toContain('ks-task-1');
    const found = (await http(server, 'GET', `Patient?identifier=${encodeURIComponent(`https://kanplan.org/fhir/sid/ks-medicaid-id|${medicaidId}`)}`)).body as Bundle;
    expect(found.entry ?? []).toHaveLength(0);
  });

  it('serves every artifact of the package at its REST endpoint, found by url', async () => {
    const pkg = loadKansasPackage();
    for (const type of [...new Set(pkg.resources.map((r) => r.resourceType))]) {
      const found = (await http(server, 'GET', `${type}?_count=1000&_elements=url`)).body as Bundle;
      const urls = (found.entry ?? []).map((e) => (e.resource as { url?: string }).url);
      const expected = pkg.resources.filter((r) => r.resourceType === type).map((r) => r.url);
      expect(urls, type).toEqual(expect.arrayContaining(expected));
    }
    const rights = `${KS}/StructureDefinition/ks-rights-modification`;
    const byUrl = (await http(server, 'GET', `StructureDefinition?url=${encodeURIComponent(rights)}`)).body as Bundle;
    expect(byUrl.entry?.map((e) => e.resource?.id)).toEqual(['ks-rights-modification']);
  });

  it('$validate takes mode and profile as query parameters, at instance level too', async () => {
    const { id: _id, ...goal } = resourceOf('valid', 'ks-goal.json');
    const created = await http(server, 'POST', 'Goal', { body: goal });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const other = await http(server, 'POST', `Goal/${id}/$validate?mode=update`, { body: { ...goal, id: 'someone-else' } });
    expect(other.status).toBe(400);
    const profile = (url: string): string => `Goal/${id}/$validate?mode=profile&profile=${encodeURIComponent(url)}`;
    const asKsGoal = await http(server, 'POST', profile(`${KS}/StructureDefinition/ks-goal`), { body: { ...goal, id } });
    expect(asKsGoal.status).toBe(200);
    expect((asKsGoal.body as OperationOutcome).issue.map((i) => i.severity)).toEqual(['information']);
    const unknown = await http(server, 'POST', profile('https://example.org/fhir/StructureDefinition/nope'), { body: { ...goal, id } });
    expect(unknown.status).toBe(200);
    expect((unknown.body as OperationOutcome).issue.map((i) => [i.severity, i.code])).toEqual([['error', 'not-supported']]);
    const noProfile = await http(server, 'POST', `Goal/${id}/$validate?mode=profile`, { body: { ...goal, id } });
    expect(noProfile.status).toBe(400);
    const deletable = await http(server, 'POST', `Goal/${id}/$validate?mode=delete`);
    expect(deletable.status).toBe(200);
  });
});

describe('VALIDATE_KANSAS_WITHOUT_PROFILE=false', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { validateKansasPlansWithoutMetaProfile: false });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('validates a Kansas plan without meta.profile against base R4 only, and one that names its profile as before', async () => {
    const { id: _id, meta: _meta, ...noProfile } = read('invalid', 'ks-bsp-careplan-missing-part-of');
    expect((await http(server, 'POST', 'CarePlan', { body: noProfile })).status).toBe(201);
    const { id: _id2, ...withProfile } = read('invalid', 'ks-bsp-careplan-missing-part-of');
    expect((await http(server, 'POST', 'CarePlan', { body: withProfile })).status).toBe(422);
  });
});
