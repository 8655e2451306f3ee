import { readFileSync } from 'node:fs';
import type { AuditEvent, Bundle, CarePlan, Provenance, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDueReminders } from '../../src/fhir/reminders/due-reminders.ts';
import type { AuditLog } from '../../src/fhir/audit/audit-log.ts';
import { http as send, issueTestToken, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const TASK_TYPE = 'https://kanplan.org/fhir/CodeSystem/ks-task-type';
const ROLE = 'https://kanplan.org/fhir/CodeSystem/ks-practitioner-role';
const AUTHORIZED = 'https://kanplan.org/fhir/StructureDefinition/ks-authorized-service';
const DECISION = 'https://kanplan.org/fhir/StructureDefinition/ks-authorization-decision';
const REASON = 'https://kanplan.org/fhir/CodeSystem/ks-authorization-decision-reason';
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
  /** Requests each role's token sent (by fhirUser), to match against the AuditEvents naming that agent. */
  const sent = new Map<string, number>();
  const fhirUserOf = new Map<string, string>();
  const http: typeof send = (who, ...rest) => {
    const fhirUser = fhirUserOf.get(who.token);
    if (fhirUser) sent.set(fhirUser, (sent.get(fhirUser) ?? 0) + 1);
    return send(who, ...rest);
  };
  const as: Record<'tcm' | 'cc' | 'provider' | 'guardian', { url: string; token: string }> = {} as never;
  let pcsp: CarePlan;
  let patient: string;
  /** After the server installed its conformance package: the year's own writes come after it. */
  let yearStarted: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { audit: { enabled: true, retentionDays: 0, flushMs: 1000, readGrouping: true } });
    yearStarted = new Date().toISOString();
    for (const resource of CAST) expect((await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource })).status).toBe(201);
    const token = async (fhirUser: string, scope = 'user/*.cruds') => {
      const issued = await issueTestToken(server.server, scope, '1h', { fhirUser });
      fhirUserOf.set(issued, fhirUser);
      return issued;
    };
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

    // The plan's goals are plan content too: written directly, the PCSP author rule still holds.
    const [goal] = ((await http(as.tcm, 'GET', `Goal?subject=${patient}&identifier=${encodeURIComponent('https://kanplan.org/fhir/sid/ks-plan-item|PCSP-TEST-AVERY-2026/goal/G1')}`)).body as Bundle).entry ?? [];
    expect(goal?.resource?.id).toBeDefined();
    for (const who of [as.provider, as.cc]) {
      const goalEdit = await http(who, 'PUT', `Goal/${goal?.resource?.id}`, { body: { ...goal?.resource, description: { text: 'Changed outside the PCSP' } } });
      expect(goalEdit.status).toBe(403);
      expect(goalEdit.body.issue[0].diagnostics).toMatch(/^Rule ks-pcsp-bsp-author: .*goals/);
    }

    // The person's care team names the TCM and the care coordinator (the imported plans' authors are contained).
    const team = await http(as.tcm, 'POST', 'CareTeam', {
      body: {
        resourceType: 'CareTeam',
        status: 'active',
        subject: { reference: patient },
        participant: [
          { role: [{ coding: [{ system: ROLE, code: 'targeted-case-manager' }] }], member: { reference: 'PractitionerRole/kp-tcm' } },
          { role: [{ coding: [{ system: ROLE, code: 'mco-care-coordinator' }] }], member: { reference: 'PractitionerRole/kp-cc' } },
        ],
      },
    });
    expect(team.status, team.text).toBe(201);
  });

  it('the CC builds the ISP and decides on the planned services (one approved, one partially, one denied); the TCM sees each decision; a TCM may not authorize', async () => {
    const isp = await importing(as.cc, 'avery-example.isp.json');
    expect(isp.status, isp.text).toBe(201);
    const plannedOf = async (code: string) => (((await http(as.cc, 'GET', `ServiceRequest?subject=${patient}&code=${code}&intent=plan`)).body as Bundle).entry ?? [])[0]?.resource?.id;
    const authorization = (code: string, number: string, extra: object = {}) => ({
      resourceType: 'ServiceRequest',
      meta: { profile: [AUTHORIZED] },
      extension: [{ url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'sunflower' }] } }],
      status: 'active',
      intent: 'order',
      subject: { reference: patient },
      code: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code }] },
      identifier: [{ type: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-identifier-type', code: 'authorization-number' }] }, value: number }],
      quantityQuantity: { value: 365, system: 'https://kanplan.org/fhir/CodeSystem/ks-service-unit', code: 'day' },
      occurrencePeriod: { start: '2026-10-01', end: '2027-09-30' },
      requester: { reference: 'PractitionerRole/kp-cc' },
      ...extra,
    });
    const decided = (decision: string, reason?: string) => ({
      url: DECISION,
      extension: [{ url: 'decision', valueCode: decision }, ...(reason ? [{ url: 'reason', valueCodeableConcept: { coding: [{ system: REASON, code: reason }], text: `${reason} (fictional example)` } }] : [])],
    });
    const approved = authorization('T2016', 'AUTH-TEST-0101', { basedOn: [{ reference: `ServiceRequest/${await plannedOf('T2016')}` }] });
    const byTcm = await http(as.tcm, 'POST', 'ServiceRequest', { body: approved });
    expect(byTcm.status).toBe(403);
    expect(byTcm.body.issue[0].diagnostics).toContain('Rule ks-service-authorization');
    const ok = await http(as.cc, 'POST', 'ServiceRequest', { body: approved });
    expect(ok.status, ok.text).toBe(201);

    const partialBody = authorization('T2021', 'AUTH-TEST-0102', {
      basedOn: [{ reference: `ServiceRequest/${await plannedOf('T2021')}` }],
      quantityQuantity: { value: 1040, system: 'https://kanplan.org/fhir/CodeSystem/ks-service-unit', code: '15-min' },
    });
    const partial = await http(as.cc, 'POST', 'ServiceRequest', { body: { ...partialBody, extension: [...partialBody.extension, decided('partially-approved', 'exceeds-limit')] } });
    expect(partial.status, partial.text).toBe(201);

    const deniedBody = authorization('T1017', 'AUTH-TEST-0103', {
      status: 'revoked',
      basedOn: [{ reference: `ServiceRequest/${await plannedOf('T1017')}` }],
      quantityQuantity: { value: 0, system: 'https://kanplan.org/fhir/CodeSystem/ks-service-unit', code: '15-min' },
    });
    const withoutReason = await http(as.cc, 'POST', 'ServiceRequest', { body: { ...deniedBody, extension: [...deniedBody.extension, decided('denied')] } });
    expect(withoutReason.status).toBe(422);
    expect(withoutReason.body.issue[0].diagnostics).toMatch(/^Rule ks-authorization-reason: .*a denied decision states its reason: add/);
    const denied = await http(as.cc, 'POST', 'ServiceRequest', { body: { ...deniedBody, extension: [...deniedBody.extension, decided('denied', 'not-medically-necessary')] } });
    expect(denied.status, denied.text).toBe(201);

    const decisions = await tasksOf(as.tcm, 'authorization-decision');
    const about = (id: string) => decisions.filter((t) => t.focus?.reference?.startsWith(`ServiceRequest/${id}/_history/`));
    for (const [written, code] of [[ok, 'approved'], [partial, 'partially-approved'], [denied, 'denied']] as const) {
      expect(about(written.body.id), code).toHaveLength(1);
      expect(about(written.body.id)[0]).toMatchObject({ status: 'requested', owner: { reference: 'PractitionerRole/kp-tcm' }, requester: { reference: 'PractitionerRole/kp-cc' }, businessStatus: { coding: [{ code }] } });
    }
    expect(about(partial.body.id)[0]?.input?.[0]?.valueString).toMatch(/^Partially approved: T2021 .*1040 15-min from 2026-10-01 to 2027-09-30 \(planned: 40 15-min per 1 /);
    expect(about(partial.body.id)[0]?.input?.[0]?.valueString).toContain('Reason: exceeds-limit (fictional example).');
    expect(about(denied.body.id)[0]?.input?.[0]?.valueString).toMatch(/^Denied: T1017 .*authorization AUTH-TEST-0103\. Reason: not-medically-necessary/);
    // The TCM acknowledges a decision; the CC, its requester, cannot move it for them.
    const task = about(denied.body.id)[0] as Task;
    expect((await http(as.cc, 'PUT', `Task/${task.id}`, { body: { ...task, status: 'completed' } })).status).toBe(403);
    expect((await http(as.tcm, 'PUT', `Task/${task.id}`, { body: { ...task, status: 'completed' } })).status).toBe(200);

    // Work list: authorizations ending within 30 days of 2027-09-01 (plain search); a denial is not among them.
    const expiring = await http(as.tcm, 'GET', `ServiceRequest?_profile=${encodeURIComponent(AUTHORIZED)}&status=active&occurrence=ge2027-09-01&occurrence=eb2027-10-01&subject=${patient}`);
    const ids = ((expiring.body as Bundle).entry ?? []).map((e) => e.resource?.id);
    expect(ids).toEqual(expect.arrayContaining([ok.body.id, partial.body.id]));
    expect(ids).not.toContain(denied.body.id);
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

    // A second referral the provider turns down: rejecting needs the reason.
    const second = (await http(as.tcm, 'POST', 'Task', { body: { ...referral, authoredOn: '2026-08-02' } })).body as Task;
    const bare = await http(as.provider, 'PUT', `Task/${second.id}`, { body: { ...second, status: 'rejected' } });
    expect(bare.status).toBe(422);
    expect(bare.body.issue[0]).toMatchObject({ expression: ['Task.statusReason'] });
    expect(bare.body.issue[0].diagnostics).toMatch(/^Rule ks-task-status-reason: moving Task\/.* to 'rejected' needs the reason: add Task\.statusReason/);
    const rejected = await http(as.provider, 'PUT', `Task/${second.id}`, { body: { ...second, status: 'rejected', statusReason: { text: 'No opening until spring (fictional)' } } });
    expect(rejected.status, rejected.text).toBe(200);
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

  it('the CC asks the TCM for input: the TCM works and completes it, the CC cannot move it for them, a cancel needs a reason', async () => {
    const [isp] = ((await http(as.cc, 'GET', `CarePlan?subject=${patient}&plan-type=${encodeURIComponent('https://kanplan.org/fhir/CodeSystem/ks-plan-type|isp')}`)).body as Bundle).entry ?? [];
    const request = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: TASK_TYPE, code: 'input-request' }] },
      description: 'Which day program hours does Avery prefer for the ISP? (fictional)',
      focus: { reference: `CarePlan/${isp?.resource?.id}` },
      for: { reference: patient },
      authoredOn: '2026-10-10',
      requester: { reference: 'PractitionerRole/kp-cc' },
      owner: { reference: 'PractitionerRole/kp-tcm' },
    };
    const created = await http(as.cc, 'POST', 'Task', { body: request });
    expect(created.status, created.text).toBe(201);
    let task = created.body as Task;
    const byCc = await http(as.cc, 'PUT', `Task/${task.id}`, { body: { ...task, status: 'in-progress' } });
    expect(byCc.status).toBe(403);
    expect(byCc.body.issue[0].diagnostics).toContain("is for the Task's owner");
    for (const status of ['received', 'in-progress', 'completed'] as const) {
      const output = status === 'completed' ? { output: [{ type: { text: 'answer' }, valueString: 'Mornings, 9 to 12 (fictional)' }] } : {};
      const moved = await http(as.tcm, 'PUT', `Task/${task.id}`, { body: { ...task, status, ...output } });
      expect(moved.status, moved.text).toBe(200);
      task = moved.body as Task;
    }
    const reopened = await http(as.cc, 'PUT', `Task/${task.id}`, { body: { ...task, status: 'requested' } });
    expect(reopened.status).toBe(409);
    expect(reopened.body.issue[0].diagnostics).toContain("is 'completed' (a terminal state");

    const another = (await http(as.cc, 'POST', 'Task', { body: { ...request, authoredOn: '2026-10-11' } })).body as Task;
    expect((await http(as.cc, 'PUT', `Task/${another.id}`, { body: { ...another, status: 'cancelled' } })).status).toBe(422);
    const cancelled = await http(as.cc, 'PUT', `Task/${another.id}`, { body: { ...another, status: 'cancelled', statusReason: { text: 'Asked twice by mistake' } } });
    expect(cancelled.status, cancelled.text).toBe(200);
  });

  it("a guardian does not read another person's plan", async () => {
    const read = await http(as.guardian, 'GET', `CarePlan/${pcsp.id}`);
    expect(read.status).toBe(404);
    expect(read.body.issue[0].diagnostics).toMatch(/Rule ks-person-reads-own: A person or guardian reads their own plans and Tasks/);
    expect(((await http(as.guardian, 'GET', `CarePlan?subject=${patient}`)).body as Bundle).entry ?? []).toHaveLength(0);
  });

  it('the annual review Tasks appear (PCSP for the TCM, ISP for the CC, the functional assessment), once however often the job runs', async () => {
    const ctx = server.server.ctx;
    const asOf = Date.parse('2027-08-15T06:00:00Z'); // the plans' review date 2027-09-01 is within PLAN_REVIEW_WINDOW_DAYS (30)
    // Two runs at once, as two server processes would: each reminder is written once.
    const [first, second] = await Promise.all([createDueReminders(ctx, asOf), createDueReminders(ctx, asOf)]);
    expect(first.planReviews + second.planReviews).toBe(2);
    expect(first.assessments + second.assessments).toBe(1);
    expect(await createDueReminders(ctx, asOf + 86_400_000)).toEqual({ planReviews: 0, assessments: 0 });

    const reviews = await tasksOf(as.tcm, 'plan-review-due');
    expect(reviews).toHaveLength(2);
    const current = (await http(as.tcm, 'GET', `CarePlan/${pcsp.id}`)).body as CarePlan;
    expect(reviews.find((t) => t.focus?.reference === `CarePlan/${pcsp.id}/_history/${current.meta?.versionId}`)).toMatchObject({
      status: 'ready',
      owner: { reference: 'PractitionerRole/kp-tcm' },
      restriction: { period: { end: '2027-09-01' } },
    });
    expect(reviews.find((t) => t.focus?.reference !== `CarePlan/${pcsp.id}/_history/${current.meta?.versionId}`)?.owner?.reference).toBe('PractitionerRole/kp-cc');
    const [assessment] = await tasksOf(as.tcm, 'assessment-due');
    expect(assessment).toMatchObject({ status: 'ready', owner: { reference: 'PractitionerRole/kp-tcm' }, restriction: { period: { end: '2027-08-15' } } });

    // Work list: plans due for review within 30 days of 2027-08-15 (plain search).
    const due = await http(as.tcm, 'GET', `CarePlan?review-due-date=le2027-09-14&status=active&subject=${patient}&plan-type=${encodeURIComponent('https://kanplan.org/fhir/CodeSystem/ks-plan-type|pcsp')}`);
    expect(((due.body as Bundle).entry ?? []).map((e) => e.resource?.id)).toEqual([pcsp.id]);
  });
  it('every change has its Provenance and every access its AuditEvent', async () => {
    // Every version the year wrote (system history since it began, all pages), whoever wrote it, is the target of a Provenance.
    const everything = async (path: string): Promise<NonNullable<Bundle['entry']>> => {
      const entries: NonNullable<Bundle['entry']> = [];
      for (let next: string | undefined = path; next; ) {
        const page = (await http(server, 'GET', next)).body as Bundle;
        entries.push(...(page.entry ?? []));
        next = page.link?.find((l) => l.relation === 'next')?.url?.replace(/^.*?\/fhir\//, '');
      }
      return entries;
    };
    const versions = (await everything(`_history?_since=${encodeURIComponent(yearStarted)}&_count=200`))
      .map((e) => `${e.fullUrl?.replace(/^.*?\/fhir\//, '')}/_history/${/\d+/.exec(e.response?.etag ?? '')?.[0]}`)
      .filter((reference) => !reference.startsWith('Provenance/') && !reference.startsWith('AuditEvent/'));
    const targets = new Set((await everything('Provenance?_count=200')).flatMap((e) => (e.resource as Provenance).target.map((t) => t.reference)));
    expect(versions.length).toBeGreaterThan(50);
    expect(versions.filter((reference) => !targets.has(reference))).toEqual([]);
    const tasks = ((await http(server, 'GET', `Task?patient=${patient}&_count=100`)).body as Bundle).entry ?? [];
    expect(tasks.length).toBeGreaterThan(2);
    // The server's own writes (the change Task) name the server; the TCM's import names the TCM.
    const [change] = (await tasksOf(as.cc, 'notify-change-of-needs')) as [Task];
    const changeProvenance = ((await http(server, 'GET', `Provenance?target=Task/${change.id}`)).body as Bundle).entry?.map((e) => e.resource as Provenance) ?? [];
    expect(changeProvenance.length).toBeGreaterThan(0);
    const pcspProvenance = ((await http(server, 'GET', `Provenance?target=CarePlan/${pcsp.id}&agent=PractitionerRole/kp-tcm`)).body as Bundle).entry ?? [];
    expect(pcspProvenance.length).toBeGreaterThanOrEqual(2);

    // Every request each role's token sent has its AuditEvent naming that agent, the refused ones with their outcome.
    await (server.server.ctx.audit as AuditLog).flush();
    expect([...sent.keys()].sort()).toEqual(['PractitionerRole/kp-cc', 'PractitionerRole/kp-provider', 'PractitionerRole/kp-tcm', 'RelatedPerson/kp-guardian']);
    // A grouped event (AUDIT_READ_GROUPING: it has a period) records one request per entity that is not the patient's.
    const requestsIn = (event: AuditEvent): number => (event.period ? (event.entity ?? []).filter((e) => e.role?.code !== '1').length : 1);
    let stored = 0;
    for (const [fhirUser, count] of sent) {
      const events = (await everything(`AuditEvent?agent=${fhirUser}&_count=200`)).map((e) => e.resource as AuditEvent);
      expect(events.reduce((sum, event) => sum + requestsIn(event), 0), fhirUser).toBe(count);
      stored += events.length;
    }
    // Some reads were grouped: fewer events than requests.
    expect(stored).toBeLessThan([...sent.values()].reduce((a, b) => a + b, 0));
    const refused = ((await http(server, 'GET', `AuditEvent?agent=PractitionerRole/kp-provider&outcome=4&patient=${patient}`)).body as Bundle).entry ?? [];
    expect(refused.map((e) => (e.resource as AuditEvent).outcomeDesc)).toEqual(expect.arrayContaining([expect.stringMatching(/^403: Rule ks-pcsp-bsp-author/)]));
    const aboutPerson = ((await http(server, 'GET', `AuditEvent?patient=${patient}&_count=1`)).body as Bundle).entry ?? [];
    expect(aboutPerson).toHaveLength(1);
  });
});
