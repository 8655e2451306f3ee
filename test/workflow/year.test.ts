import { readFileSync } from 'node:fs';
import type { Bundle, CarePlan, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const TASK_TYPE = 'https://kanplan.org/fhir/CodeSystem/ks-task-type';
const ROLE = 'https://kanplan.org/fhir/CodeSystem/ks-practitioner-role';
const document = (file: string): string => readFileSync(new URL(`../../bundles/documents/${file}`, import.meta.url), 'utf8');

/** The fictional cast: a TCM agency, an MCO, a provider agency and DCF, one role each, a guardian of someone else. */
const CAST = [
  { resourceType: 'Organization', id: 'kp-tcm-agency', name: 'Example TCM agency (fictional)' },
  { resourceType: 'Organization', id: 'kp-mco', name: 'Example MCO (fictional)' },
  { resourceType: 'Organization', id: 'kp-provider-agency', name: 'Example provider agency (fictional)' },
  { resourceType: 'Organization', id: 'kp-dcf', name: 'DCF Kansas Protection Report Center (fictional entry)' },
  ...(
    [
      ['kp-tcm', 'targeted-case-manager', 'kp-tcm-agency'],
      ['kp-cc', 'mco-care-coordinator', 'kp-mco'],
      ['kp-provider', 'hcbs-provider', 'kp-provider-agency'],
    ] as const
  ).flatMap(([id, role, organization]) => [
    { resourceType: 'Practitioner', id: `${id}-person`, name: [{ family: `Testworker-${id}` }] },
    {
      resourceType: 'PractitionerRole',
      id,
      practitioner: { reference: `Practitioner/${id}-person` },
      organization: { reference: `Organization/${organization}` },
      code: [{ coding: [{ system: ROLE, code: role }] }],
    },
  ]),
  { resourceType: 'Patient', id: 'kp-someone-else', name: [{ family: 'Otherperson' }] },
  { resourceType: 'RelatedPerson', id: 'kp-guardian', patient: { reference: 'Patient/kp-someone-else' }, name: [{ family: 'Guardianperson' }] },
];

describe.each(testDatabases)('a year of TCM ⇄ care coordinator workflow for one fictional person on %s', (kind) => {
  let server: TestServer;
  const as: Record<'tcm' | 'cc' | 'provider' | 'guardian', { url: string; token: string }> = {} as never;
  let pcsp: CarePlan;
  let patient: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    for (const resource of CAST) expect((await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource })).status).toBe(201);
    const token = (fhirUser: string, scope = 'user/*.cruds') => issueTestToken(server.server, scope, '1h', { fhirUser });
    as.tcm = { url: server.url, token: await token('PractitionerRole/kp-tcm') };
    as.cc = { url: server.url, token: await token('PractitionerRole/kp-cc') };
    as.provider = { url: server.url, token: await token('PractitionerRole/kp-provider') };
    as.guardian = { url: server.url, token: await token('RelatedPerson/kp-guardian', 'user/*.rs') };
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  const importing = (who: { url: string; token: string }, file: string) =>
    http(who, 'POST', 'CarePlan/$import-document', { raw: document(file), headers: { 'content-type': 'application/json' } });
  const tasksOf = async (who: { url: string; token: string }, code: string): Promise<Task[]> => {
    const found = await http(who, 'GET', `Task?code=${encodeURIComponent(`${TASK_TYPE}|${code}`)}&patient=${patient}`);
    expect(found.status).toBe(200);
    return ((found.body as Bundle).entry ?? []).map((e) => e.resource as Task);
  };

  it('TCM writes the PCSP and BSP; a provider may not edit the PCSP, a TCM may not write the ISP', async () => {
    const imported = await importing(as.tcm, 'avery-example.pcsp.json');
    expect(imported.status, imported.text).toBe(201);
    const reference = imported.body.parameter.find((p: { name: string }) => p.name === 'carePlan').valueReference.reference as string;
    pcsp = (await http(as.tcm, 'GET', reference)).body as CarePlan;
    patient = pcsp.subject?.reference as string;
    expect((await importing(as.tcm, 'avery-example.bsp.json')).status).toBe(201);
    // The first import of a plan is no change: nobody is notified.
    expect(await tasksOf(as.cc, 'notify-change-of-needs')).toHaveLength(0);

    const edit = await http(as.provider, 'PUT', `CarePlan/${pcsp.id}`, { body: { ...pcsp, description: 'Changed by a provider' } });
    expect(edit.status).toBe(403);
    expect(edit.body.issue[0].diagnostics).toMatch(/^Rule ks-pcsp-bsp-author: .*who may: a PractitionerRole with code targeted-case-manager/);
    const ispByTcm = await importing(as.tcm, 'avery-example.isp.json');
    expect(ispByTcm.status).toBe(403);
    expect(ispByTcm.text).toContain('ks-isp-author');
  });

  it('the CC builds the ISP and authorizes services; a TCM may not authorize', async () => {
    const isp = await importing(as.cc, 'avery-example.isp.json');
    expect(isp.status, isp.text).toBe(201);
    const [planned] = ((await http(as.cc, 'GET', `ServiceRequest?subject=${patient}&code=T2016`)).body as Bundle).entry ?? [];
    const authorization = {
      resourceType: 'ServiceRequest',
      meta: { profile: ['https://kanplan.org/fhir/StructureDefinition/ks-authorized-service'] },
      extension: [{ url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'sunflower' }] } }],
      status: 'active',
      intent: 'order',
      subject: { reference: patient },
      code: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'T2016' }] },
      identifier: [{ type: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-identifier-type', code: 'authorization-number' }] }, value: 'AUTH-TEST-0001' }],
      basedOn: [{ reference: `ServiceRequest/${planned?.resource?.id}` }],
      quantityQuantity: { value: 365, system: 'https://kanplan.org/fhir/CodeSystem/ks-service-unit', code: 'day' },
      occurrencePeriod: { start: '2026-10-01', end: '2027-09-30' },
      requester: { reference: 'PractitionerRole/kp-cc' },
    };
    const byTcm = await http(as.tcm, 'POST', 'ServiceRequest', { body: authorization });
    expect(byTcm.status).toBe(403);
    expect(byTcm.body.issue[0].diagnostics).toContain('Rule ks-service-authorization');
    const authorized = await http(as.cc, 'POST', 'ServiceRequest', { body: authorization });
    expect(authorized.status, authorized.text).toBe(201);
  });

  it('a provider accepts a referral and completes it; nobody re-opens it', async () => {
    const referral = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: TASK_TYPE, code: 'referral' }] },
      for: { reference: patient },
      authoredOn: '2026-08-01',
      requester: { reference: 'PractitionerRole/kp-tcm' },
      owner: { reference: 'Organization/kp-provider-agency' },
    };
    const created = await http(as.tcm, 'POST', 'Task', { body: referral });
    expect(created.status, created.text).toBe(201);
    let task = created.body as Task;
    const byTcm = await http(as.tcm, 'PUT', `Task/${task.id}`, { body: { ...task, status: 'accepted' } });
    expect(byTcm.status).toBe(403);
    expect(byTcm.body.issue[0].diagnostics).toContain("is for the Task's owner");
    for (const status of ['received', 'accepted', 'in-progress', 'completed'] as const) {
      const moved = await http(as.provider, 'PUT', `Task/${task.id}`, { body: { ...task, status } });
      expect(moved.status, moved.text).toBe(200);
      task = moved.body as Task;
    }
    const reopened = await http(as.tcm, 'PUT', `Task/${task.id}`, { body: { ...task, status: 'in-progress' } });
    expect(reopened.status).toBe(409);
    expect(reopened.body.issue[0].diagnostics).toMatch(/is 'completed' \(a terminal state: nothing leaves it\); it cannot become 'in-progress'\. Allowed next states: none/);
  });

  it('a changed PCSP gives the CC one change Task with the summary; an unchanged re-import gives none', async () => {
    expect((await importing(as.tcm, 'updates/avery-example.pcsp.update-1.json')).status).toBe(200);
    expect((await importing(as.tcm, 'updates/avery-example.pcsp.update-1.json')).status).toBe(200);
    const tasks = await tasksOf(as.cc, 'notify-change-of-needs');
    expect(tasks).toHaveLength(1);
    const [task] = tasks as [Task];
    const current = (await http(as.tcm, 'GET', `CarePlan/${pcsp.id}`)).body as CarePlan;
    expect(task).toMatchObject({ status: 'requested', requester: { reference: 'PractitionerRole/kp-tcm' }, focus: { reference: `CarePlan/${pcsp.id}/_history/${current.meta?.versionId}` } });
    const summary = task.input?.[0]?.valueString ?? '';
    expect(summary).toContain('Added need N4: Needs a communication device to tell staff when she is in pain');
    expect(summary).toContain('Removed need N2: Needs support to find and keep a job');
    expect(summary).toContain('Removed goal G2');
    expect(summary).toContain('Added goal G3');
  });

  it('the TCM files an ANE report: stat, restricted, deadline; the CC sees it, the provider does not', async () => {
    const report = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      priority: 'stat',
      code: { coding: [{ system: TASK_TYPE, code: 'ane-report' }] },
      for: { reference: patient },
      authoredOn: '2026-09-01T10:00:00Z',
      requester: { reference: 'PractitionerRole/kp-tcm' },
      owner: { reference: 'Organization/kp-dcf' },
    };
    const created = await http(as.tcm, 'POST', 'Task', { body: report });
    expect(created.status, created.text).toBe(201);
    const seen = await http(as.cc, 'GET', `Task/${created.body.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ priority: 'stat', meta: { security: [{ code: 'R' }] }, restriction: { period: { end: '2026-09-02T10:00:00.000Z' } } });
    expect((await http(as.provider, 'GET', `Task/${created.body.id}`)).status).toBe(404);
    expect(await tasksOf(as.provider, 'ane-report')).toHaveLength(0);
    const overdue = await http(as.cc, 'GET', `Task?code=${encodeURIComponent(`${TASK_TYPE}|ane-report`)}&status=requested,in-progress&restriction-period=eb2026-09-03`);
    expect((overdue.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([created.body.id]);
  });

  it('the CC saves an ISP integrating the changed PCSP version, which closes the change Task', async () => {
    const [ispId] = ((await http(as.cc, 'GET', `CarePlan?subject=${patient}&plan-type=${encodeURIComponent('https://kanplan.org/fhir/CodeSystem/ks-plan-type|isp')}`)).body as Bundle).entry?.map((e) => e.resource?.id) ?? [];
    const isp = (await http(as.cc, 'GET', `CarePlan/${ispId}`)).body as CarePlan;
    const current = (await http(as.cc, 'GET', `CarePlan/${pcsp.id}`)).body as CarePlan;
    const basedOn = (isp.basedOn ?? []).map((b) => (b.reference === `CarePlan/${pcsp.id}` ? { reference: `CarePlan/${pcsp.id}/_history/${current.meta?.versionId}` } : b));
    const saved = await http(as.cc, 'PUT', `CarePlan/${ispId}`, { body: { ...isp, basedOn } });
    expect(saved.status, saved.text).toBe(200);
    const [task] = (await tasksOf(as.cc, 'notify-change-of-needs')) as [Task];
    expect(task.status).toBe('completed');
    expect(task.output?.[0]?.valueReference?.reference).toBe(`CarePlan/${ispId}/_history/${saved.body.meta.versionId}`);
  });

  it("a guardian does not read another person's plan", async () => {
    expect((await http(as.guardian, 'GET', `CarePlan/${pcsp.id}`)).status).toBe(404);
    expect(((await http(as.guardian, 'GET', `CarePlan?subject=${patient}`)).body as Bundle).entry ?? []).toHaveLength(0);
  });

  // TODO(traceability): every change has its Provenance (Provenance?target=…) and every access its
  // AuditEvent (AuditEvent?patient=…); assert here once the Provenance participant and AuditEvent land.
  // TODO(plan review job): the annual plan-review-due Task from the scheduled job.
});
