import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Config } from '../../../src/config.ts';
import { queueExpiringAuthorizations } from '../../../src/fhir/subscriptions/expiring-authorizations.ts';
import { createDueReminders } from '../../../src/fhir/reminders/due-reminders.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../../harness.ts';
import { Receiver, waitFor } from './receiver.ts';

/**
 * The topics about time and about what the server writes itself: an authorization about to expire
 * (a named event found by a recurring check, once per version), a plan review coming due (the
 * reminders job's plan-review-due Task), and the authorization-decision Task the server writes when
 * the MCO decides (the task topic). Fictional people and organizations.
 */
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TOPIC = 'https://kanplan.org/fhir/SubscriptionTopic';
const TASK_TYPE = 'https://kanplan.org/fhir/CodeSystem/ks-task-type';
const DAY = 86_400_000;
const day = (offset: number): string => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);

const settings: Partial<Config> = {
  // Plans and authorizations reduced to what the topics read (as test/workflow/work-lists.test.ts).
  validateKansasPlansWithoutMetaProfile: false,
  subscriptions: {
    delivery: true, allowHttpLoopback: true, pollMs: 20, workers: 8, perEndpoint: 4, timeoutMs: 5_000,
    retryBaseMs: 30, retryMaxMs: 200, retryWindowMs: 86_400_000, errorAfterFailures: 100, retentionMs: 3_600_000, refreshMs: 100,
    authorizationExpiringDays: 30,
  },
};

function authorization(id: string, patient: string, end: string): object {
  return {
    resourceType: 'ServiceRequest',
    id,
    meta: { profile: ['https://kanplan.org/fhir/StructureDefinition/ks-authorized-service'] },
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${patient}` },
    identifier: [{ type: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-identifier-type', code: 'authorization-number' }] }, value: id }],
    extension: [{ url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'sunflower' }] } }],
    code: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'T2016' }] },
    basedOn: [{ reference: 'ServiceRequest/kp-tt-planned' }],
    quantityQuantity: { value: 30, system: 'https://kanplan.org/fhir/CodeSystem/ks-service-unit', code: 'day' },
    requester: { reference: 'PractitionerRole/kp-tt-cc' },
    occurrencePeriod: { start: day(-300), end },
  };
}

function subscription(endpoint: string, topic: string, filter: string): object {
  return {
    resourceType: 'Subscription', status: 'requested', reason: 'time-based topics', criteria: `${TOPIC}/${topic}`,
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: filter }] },
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'full-resource' }] } },
  };
}

describe.each(testDatabases)('Time-based and server-written topics (%s)', (kind) => {
  let server: TestServer;
  let receiver: Receiver;

  const put = async (resource: { resourceType: string; id: string }): Promise<void> => {
    const written = await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
    expect(written.status, written.text).toBe(201);
  };

  async function subscribe(body: object): Promise<string> {
    const created = await http(server, 'POST', 'Subscription', { body });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    await waitFor('status active', async () => (await http(server, 'GET', `Subscription/${id}`)).body.status === 'active');
    return id;
  }

  beforeAll(async () => {
    receiver = await new Receiver().start();
    server = await startTestServer(kind, settings);
    for (const id of ['kp-tt-ada', 'kp-tt-bo', 'kp-tt-cy']) await put({ resourceType: 'Patient', id });
    await put({ resourceType: 'PractitionerRole', id: 'kp-tt-cc' });
    await put({ resourceType: 'ServiceRequest', id: 'kp-tt-planned', status: 'active', intent: 'plan', subject: { reference: 'Patient/kp-tt-ada' }, code: { text: 'Personal care' } } as never);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
  });

  test('an authorization ending within the window notifies authorization-expiring once per version', async () => {
    await put(authorization('kp-tt-soon', 'kp-tt-ada', day(20)) as never);
    await put(authorization('kp-tt-later', 'kp-tt-ada', day(90)) as never);
    await put(authorization('kp-tt-other', 'kp-tt-bo', day(10)) as never);
    // Subscribed after the authorizations were written: every event it gets is an expiry.
    const id = await subscribe(subscription(`${receiver.url}/expiring`, 'service-authorization', 'patient=Patient/kp-tt-ada'));
    expect(await queueExpiringAuthorizations(server.server.ctx, Date.now())).toBe(1);
    // The next run (or another process) finds the same version and queues nothing.
    expect(await queueExpiringAuthorizations(server.server.ctx, Date.now())).toBe(0);
    const got = await waitFor('the expiry', () => (receiver.of(id).length >= 1 ? receiver.of(id) : undefined));
    expect(got[0].eventNumbers).toEqual([1]);
    const entry = got[0].bundle.entry[1];
    expect(entry.resource.id).toBe('kp-tt-soon');
    expect(entry.request).toEqual({ method: 'GET', url: 'ServiceRequest/kp-tt-soon' });
    // The MCO extends it: the new version notifies as an update, and again when it nears its new end.
    await http(server, 'PUT', 'ServiceRequest/kp-tt-soon', { body: authorization('kp-tt-soon', 'kp-tt-ada', day(25)) });
    expect(await queueExpiringAuthorizations(server.server.ctx, Date.now())).toBe(1);
    const all = await waitFor('the update and the new expiry', () => (receiver.of(id).length >= 3 ? receiver.of(id) : undefined));
    expect(all.map((r) => r.bundle.entry[1].request.method)).toEqual(['GET', 'PUT', 'GET']);
    expect(all.flatMap((r) => r.eventNumbers)).toEqual([1, 2, 3]);
  });

  test('a plan coming due for review notifies the plan-review-due topic through the reminder Task', async () => {
    const id = await subscribe(subscription(`${receiver.url}/review`, 'plan-review-due', 'patient=Patient/kp-tt-cy'));
    await put({
      resourceType: 'CarePlan', id: 'kp-tt-pcsp', status: 'active', intent: 'plan',
      category: [{ coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-plan-type', code: 'pcsp' }] }],
      subject: { reference: 'Patient/kp-tt-cy' },
      extension: [{ url: 'https://kanplan.org/fhir/StructureDefinition/ks-review-due-date', valueDate: day(20) }],
    } as never);
    const created = await createDueReminders(server.server.ctx, Date.now());
    expect(created.planReviews).toBeGreaterThanOrEqual(1);
    const got = await waitFor('the review Task', () => (receiver.of(id).length >= 1 ? receiver.of(id) : undefined));
    const reminder = got[0].bundle.entry[1].resource;
    expect(reminder.resourceType).toBe('Task');
    expect(reminder.code.coding[0]).toMatchObject({ system: TASK_TYPE, code: 'plan-review-due' });
    expect(reminder.focus.reference).toMatch(/^CarePlan\/kp-tt-pcsp\/_history\/1$/);
  });

  test("the MCO's authorization decision reaches a task-topic subscription as the server-written authorization-decision Task", async () => {
    const id = await subscribe(subscription(`${receiver.url}/decision`, 'task', `code=${TASK_TYPE}|authorization-decision`));
    await put(authorization('kp-tt-decided', 'kp-tt-bo', day(200)) as never);
    const got = await waitFor('the decision Task', () => (receiver.of(id).length >= 1 ? receiver.of(id) : undefined));
    const decision = got[0].bundle.entry[1].resource;
    expect(decision.code.coding[0].code).toBe('authorization-decision');
    expect(decision.for.reference).toBe('Patient/kp-tt-bo');
    expect(decision.focus.reference).toBe('ServiceRequest/kp-tt-decided/_history/1');
    expect(got.flatMap((r) => r.eventNumbers)).toEqual([1]);
  });
});
