import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CapabilityStatement, CarePlan, OperationOutcome, Parameters, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKansasPackage } from '../../src/validation/package.ts';
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

  it('accepts a conforming KS PCSP CarePlan and rejects a non-conforming one with 400 and one issue per problem', async () => {
    const { id: _id, ...valid } = read('valid', 'ks-pcsp-careplan');
    const created = await http(server, 'POST', 'CarePlan', { body: valid });
    expect(created.status).toBe(201);

    const { id: _bad, ...invalid } = read('invalid', 'ks-pcsp-careplan-rights-modification-incomplete');
    const rejected = await http(server, 'POST', 'CarePlan', { body: invalid });
    expect(rejected.status).toBe(400);
    const outcome = rejected.body as OperationOutcome;
    expect(outcome.issue.map((i) => [i.severity, i.expression?.[0]])).toEqual([
      ['error', 'CarePlan.extension[2].extension'],
      ['error', 'CarePlan.extension[2].extension[7].valueBoolean'],
    ]);
    expect(outcome.issue[0].diagnostics).toContain(`${KS}/StructureDefinition/ks-rights-modification`);
  });

  it('validates a Kansas plan without meta.profile against its Kansas profile on write', async () => {
    const { id: _id, meta: _meta, ...noProfile } = read('invalid', 'ks-bsp-careplan-missing-part-of');
    const rejected = await http(server, 'POST', 'CarePlan', { body: noProfile });
    expect(rejected.status).toBe(400);
    expect((rejected.body as OperationOutcome).issue.map((i) => i.expression?.[0])).toEqual(['CarePlan.partOf']);
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
    expect(listed).toEqual(loadKansasPackage().profiles.map((p) => p.url).sort());
    const carePlan = metadata.rest?.[0]?.resource?.find((r) => r.type === 'CarePlan');
    expect(carePlan?.operation?.map((o) => o.name)).toContain('validate');
  });
});
