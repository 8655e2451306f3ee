import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const TASK_TYPE = 'https://kanplan.org/fhir/CodeSystem/ks-task-type';
const DAY = 86_400_000;
const day = (offset: number): string => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);

/** The README's work lists ("Work lists"), run as written there, on data that should and should not be on each. */
describe.each(testDatabases)('work lists as plain searches on %s', (kind) => {
  let server: TestServer;
  const ids = async (query: string): Promise<string[]> => {
    const found = await http(server, 'GET', query);
    expect(found.status, found.text).toBe(200);
    return ((found.body as Bundle).entry ?? []).filter((e) => e.search?.mode !== 'include').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
  };
  const put = async (resource: { resourceType: string; id: string }): Promise<void> => {
    const written = await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
    expect(written.status, written.text).toBe(201);
  };
  const task = (id: string, code: string, status: string, extra: object = {}) => ({
    resourceType: 'Task',
    id,
    status,
    intent: 'order',
    code: { coding: [{ system: TASK_TYPE, code }] },
    for: { reference: 'Patient/wl-person' },
    authoredOn: new Date().toISOString(),
    requester: { reference: 'PractitionerRole/wl-tcm' },
    owner: { reference: 'PractitionerRole/wl-cc' },
    ...extra,
  });

  beforeAll(async () => {
    // Plans and authorizations reduced to what the searches read: not validated against the whole
    // Kansas profile their plan type or authorization number would otherwise select.
    server = await startTestServer(kind, { validateKansasPlansWithoutMetaProfile: false });
    await put({ resourceType: 'Patient', id: 'wl-person' } as never);
    await put({ resourceType: 'PractitionerRole', id: 'wl-tcm' } as never);
    await put({ resourceType: 'PractitionerRole', id: 'wl-cc' } as never);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('my open Tasks', async () => {
    await put(task('wl-open', 'update-isp', 'requested'));
    await put(task('wl-done', 'update-isp', 'requested'));
    const cancelled = await http(server, 'PUT', 'Task/wl-done', { body: task('wl-done', 'update-isp', 'cancelled', { statusReason: { text: 'Duplicate' } }) });
    expect(cancelled.status, cancelled.text).toBe(200);
    await put(task('wl-other-owner', 'update-isp', 'requested', { owner: { reference: 'PractitionerRole/wl-tcm' } }));
    expect(await ids('Task?owner=PractitionerRole/wl-cc&status=requested,received,accepted,ready,in-progress,on-hold&_sort=authored-on')).toEqual(['Task/wl-open']);
  });

  it('overdue ANE reports', async () => {
    const long = new Date(Date.now() - 5 * DAY).toISOString();
    await put(task('wl-ane-overdue', 'ane-report', 'requested', { priority: 'stat', authoredOn: long, restriction: { period: { start: long, end: new Date(Date.now() - 4 * DAY).toISOString() } } }));
    await put(task('wl-ane-due', 'ane-report', 'requested', { priority: 'stat', restriction: { period: { end: new Date(Date.now() + DAY).toISOString() } } }));
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    expect(await ids(`Task?code=${encodeURIComponent(`${TASK_TYPE}|ane-report`)}&status=requested,in-progress&restriction-period=eb${now}`)).toEqual(['Task/wl-ane-overdue']);
  });

  it('plans due for review in 30 days', async () => {
    const plan = (id: string, due: string) => ({
      resourceType: 'CarePlan',
      id,
      status: 'active',
      intent: 'plan',
      category: [{ coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-plan-type', code: 'pcsp' }] }],
      subject: { reference: 'Patient/wl-person' },
      extension: [{ url: 'https://kanplan.org/fhir/StructureDefinition/ks-review-due-date', valueDate: due }],
    });
    await put(plan('wl-plan-soon', day(20)));
    await put(plan('wl-plan-overdue', day(-3)));
    await put(plan('wl-plan-later', day(90)));
    const planTypes = ['pcsp', 'isp'].map((code) => `https://kanplan.org/fhir/CodeSystem/ks-plan-type|${code}`).join(',');
    const due = await ids(`CarePlan?review-due-date=le${day(30)}&status=active&plan-type=${encodeURIComponent(planTypes)}&_include=CarePlan:subject`);
    expect(due.sort()).toEqual(['CarePlan/wl-plan-overdue', 'CarePlan/wl-plan-soon']);
  });

  it('authorizations expiring in 30 days', async () => {
    const authorization = (id: string, end: string) => ({
      resourceType: 'ServiceRequest',
      id,
      meta: { profile: ['https://kanplan.org/fhir/StructureDefinition/ks-authorized-service'] },
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/wl-person' },
      identifier: [{ type: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-identifier-type', code: 'authorization-number' }] }, value: id }],
      extension: [{ url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'sunflower' }] } }],
      code: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'T2016' }] },
      basedOn: [{ reference: 'ServiceRequest/wl-planned' }],
      quantityQuantity: { value: 30, system: 'https://kanplan.org/fhir/CodeSystem/ks-service-unit', code: 'day' },
      requester: { reference: 'PractitionerRole/wl-cc' },
      occurrencePeriod: { start: day(-300), end },
    });
    await put({ resourceType: 'ServiceRequest', id: 'wl-planned', status: 'active', intent: 'plan', subject: { reference: 'Patient/wl-person' }, code: { text: 'Personal care' } } as never);
    await put(authorization('wl-auth-soon', day(20)));
    await put(authorization('wl-auth-later', day(90)));
    await put(authorization('wl-auth-expired', day(-2)));
    const profile = 'https://kanplan.org/fhir/StructureDefinition/ks-authorized-service';
    expect(await ids(`ServiceRequest?_profile=${profile}&status=active&occurrence=ge${day(0)}&occurrence=eb${day(31)}`)).toEqual(['ServiceRequest/wl-auth-soon']);
  });
});
