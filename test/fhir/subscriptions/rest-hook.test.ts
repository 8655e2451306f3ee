import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Config } from '../../../src/config.ts';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../../harness.ts';
import { RESTRICTED_LABEL } from '../../../src/workflow/kansas-workflow.ts';
import { Receiver, waitFor } from './receiver.ts';

/**
 * Subscriptions over real HTTP with a loopback receiver: handshake, classic criteria and topics
 * with filters, payload levels, channel headers, event numbers, $status and $events, retries while
 * the receiver is down, handshake failure, rollback, and the owner's access. Fictional people.
 */
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TASK_TOPIC = 'https://kanplan.org/fhir/SubscriptionTopic/task';

const settings: Partial<Config> = {
  subscriptions: {
    delivery: true, allowHttpLoopback: true, pollMs: 20, workers: 8, perEndpoint: 2, timeoutMs: 3_000,
    retryBaseMs: 30, retryMaxMs: 200, retryWindowMs: 86_400_000, errorAfterFailures: 3, retentionMs: 3_600_000, refreshMs: 100,
  },
};

function task(id: string, owner: string, patient: string, status = 'requested'): object {
  return { resourceType: 'Task', id, status, intent: 'order', owner: { reference: owner }, for: { reference: `Patient/${patient}` } };
}

function topicSubscription(endpoint: string, filters: string[], content: string, extra: object = {}): object {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'MCO care coordination',
    criteria: TASK_TOPIC,
    // No filters: no _criteria at all (an empty extension array is not valid R4 JSON).
    ...(filters.length ? { _criteria: { extension: filters.map((f) => ({ url: `${BACKPORT}/backport-filter-criteria`, valueString: f })) } } : {}),
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: content }] },
      ...extra,
    },
  };
}

describe.each(testDatabases)('Subscriptions rest-hook (%s)', (kind) => {
  let server: TestServer;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await new Receiver().start();
    server = await startTestServer(kind, settings);
    for (const id of ['kp-sub-ada', 'kp-sub-bo']) {
      await server.client.update({ resourceType: 'Patient', id, body: { resourceType: 'Patient', id, name: [{ family: 'Testperson', given: [id] }] } });
    }
    await server.client.update({ resourceType: 'Organization', id: 'kp-sub-mco', body: { resourceType: 'Organization', id: 'kp-sub-mco', name: 'Test MCO' } });
  });

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
  });

  async function subscribe(body: object, token = server.token): Promise<string> {
    const created = await http({ url: server.url, token }, 'POST', 'Subscription', { body });
    expect(created.status, created.text).toBe(201);
    expect(created.body.status).toBe('requested');
    const id = created.body.id as string;
    await waitFor('the handshake', () => receiver.of(id, 'handshake').length > 0);
    await waitFor('status active', async () => (await http(server, 'GET', `Subscription/${id}`)).body.status === 'active');
    return id;
  }

  test('classic criteria: handshake, then one full-resource notification per matching write, channel headers sent', async () => {
    const id = await subscribe({
      resourceType: 'Subscription', status: 'active', reason: 'test', criteria: 'Task?owner=Organization/kp-sub-mco&status=requested',
      channel: { type: 'rest-hook', endpoint: `${receiver.url}/classic`, payload: 'application/fhir+json', header: ['Authorization: Bearer receiver-secret'] },
    });
    await http(server, 'PUT', 'Task/kp-sub-t1', { body: task('kp-sub-t1', 'Organization/kp-sub-mco', 'kp-sub-ada') });
    await http(server, 'PUT', 'Task/kp-sub-t2', { body: task('kp-sub-t2', 'Organization/other', 'kp-sub-ada') });
    await http(server, 'PUT', 'Task/kp-sub-t3', { body: task('kp-sub-t3', 'Organization/kp-sub-mco', 'kp-sub-bo', 'accepted') });
    await http(server, 'PUT', 'Task/kp-sub-t4', { body: task('kp-sub-t4', 'Organization/kp-sub-mco', 'kp-sub-bo') });
    const got = await waitFor('two notifications', () => (receiver.of(id).length >= 2 ? receiver.of(id) : undefined));
    expect(got.flatMap((r) => r.eventNumbers)).toEqual([1, 2]);
    expect(got.map((r) => r.bundle.entry[1].resource.id)).toEqual(['kp-sub-t1', 'kp-sub-t4']);
    expect(got[0].bundle.type).toBe('history');
    expect(got[0].headers.authorization).toBe('Bearer receiver-secret');
    expect(got[0].headers['content-type']).toBe('application/fhir+json');
    const status = await http(server, 'GET', `Subscription/${id}/$status`);
    expect(status.status, status.text).toBe(200);
    const parameters = status.body.entry[0].resource.parameter;
    expect(parameters.find((p: any) => p.name === 'status').valueCode).toBe('active');
    expect(parameters.find((p: any) => p.name === 'events-since-subscription-start').valueString).toBe('2');
  });

  test('topic with filters, id-only and empty payloads, event numbers per subscription, $events replay', async () => {
    const idOnly = await subscribe(topicSubscription(`${receiver.url}/id-only`, ['Task.owner=Organization/kp-sub-mco'], 'id-only'));
    const empty = await subscribe(topicSubscription(`${receiver.url}/empty`, ['patient=Patient/kp-sub-bo'], 'empty'));
    await http(server, 'PUT', 'Task/kp-sub-t5', { body: task('kp-sub-t5', 'Organization/kp-sub-mco', 'kp-sub-ada') });
    await http(server, 'PUT', 'Task/kp-sub-t6', { body: task('kp-sub-t6', 'Organization/kp-sub-mco', 'kp-sub-bo') });
    const ids = await waitFor('id-only notifications', () => (receiver.of(idOnly).length >= 2 ? receiver.of(idOnly) : undefined));
    expect(ids.flatMap((r) => r.eventNumbers)).toEqual([1, 2]);
    expect(ids[0].bundle.entry[1].resource).toBeUndefined();
    expect(ids[0].bundle.entry[1].fullUrl).toMatch(/\/Task\/kp-sub-t5$/);
    const focus = ids[0].bundle.entry[0].resource.parameter.find((p: any) => p.name === 'notification-event').part.find((p: any) => p.name === 'focus');
    expect(focus.valueReference.reference).toMatch(/\/Task\/kp-sub-t5\/_history\/1$/);
    const empties = await waitFor('empty notification', () => (receiver.of(empty).length >= 1 ? receiver.of(empty) : undefined));
    expect(empties[0].eventNumbers).toEqual([1]);
    expect(empties[0].bundle.entry).toHaveLength(1);
    const replay = await http(server, 'GET', `Subscription/${idOnly}/$events?eventsSinceNumber=2&content=full-resource`);
    expect(replay.status, replay.text).toBe(200);
    expect(replay.body.entry.slice(1).map((e: any) => e.resource.id)).toEqual(['kp-sub-t6']);
  });

  test('the CapabilityStatement advertises the shipped topics and the Backport Subscription profile', async () => {
    const statement = (await http(server, 'GET', 'metadata')).body;
    const topics = statement.rest[0].extension.map((e: any) => e.valueCanonical);
    expect(topics).toEqual(expect.arrayContaining([TASK_TOPIC, 'https://kanplan.org/fhir/SubscriptionTopic/plan-changed', 'https://kanplan.org/fhir/SubscriptionTopic/ane-report']));
    const subscription = statement.rest[0].resource.find((r: any) => r.type === 'Subscription');
    expect(subscription.supportedProfile).toContain(`${BACKPORT}/backport-subscription`);
    expect(subscription.operation.map((o: any) => o.name)).toEqual(expect.arrayContaining(['status', 'events']));
  });

  test('unsupported filters and plain http to a remote host are refused with 422', async () => {
    const badFilter = await http(server, 'POST', 'Subscription', { body: topicSubscription(`${receiver.url}/x`, ['Task.description=x'], 'id-only') });
    expect(badFilter.status).toBe(422);
    expect(badFilter.text).toContain('Task.owner');
    const remote = await http(server, 'POST', 'Subscription', { body: topicSubscription('http://mco.example.org/hook', [], 'id-only') });
    expect(remote.status).toBe(422);
    expect(remote.text).toContain('https');
  });

  test('a failed handshake sets error with the reason; setting it active again resumes', async () => {
    receiver.mode = 'down';
    const created = await http(server, 'POST', 'Subscription', { body: topicSubscription(`${receiver.url}/flaky`, ['Task.owner=Organization/kp-sub-flaky'], 'id-only') });
    const id = created.body.id;
    const failed = await waitFor('status error', async () => {
      const current = (await http(server, 'GET', `Subscription/${id}`)).body;
      return current.status === 'error' ? current : undefined;
    });
    expect(failed.error).toContain('handshake failed');
    receiver.mode = 'ok';
    await http(server, 'PUT', `Subscription/${id}`, { body: { ...failed, status: 'active' } });
    await waitFor('status active', async () => (await http(server, 'GET', `Subscription/${id}`)).body.status === 'active');
  });

  test('receiver down then up: retries deliver every event, in order, and error turns back to active', async () => {
    const id = await subscribe(topicSubscription(`${receiver.url}/down-up`, ['Task.owner=Organization/kp-sub-down'], 'id-only'));
    receiver.mode = 'down';
    for (let i = 1; i <= 5; i++) {
      await http(server, 'PUT', `Task/kp-sub-d${i}`, { body: task(`kp-sub-d${i}`, 'Organization/kp-sub-down', 'kp-sub-ada') });
    }
    await waitFor('status error', async () => (await http(server, 'GET', `Subscription/${id}`)).body.status === 'error');
    receiver.mode = 'ok';
    const got = await waitFor('five events', () => (receiver.of(id).flatMap((r) => r.eventNumbers).length >= 5 ? receiver.of(id) : undefined));
    expect(got.flatMap((r) => r.eventNumbers)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((r) => r.bundle.entry[1].fullUrl.replace(/^.*\//, ''))).toEqual(['kp-sub-d1', 'kp-sub-d2', 'kp-sub-d3', 'kp-sub-d4', 'kp-sub-d5']);
    await waitFor('status active again', async () => (await http(server, 'GET', `Subscription/${id}`)).body.status === 'active');
  });

  test('a rolled-back transaction notifies nothing', async () => {
    const id = await subscribe(topicSubscription(`${receiver.url}/rollback`, ['Task.owner=Organization/kp-sub-rb'], 'id-only'));
    const failing = await http(server, 'POST', '', {
      body: {
        resourceType: 'Bundle', type: 'transaction',
        entry: [
          { resource: task('kp-sub-rb1', 'Organization/kp-sub-rb', 'kp-sub-ada'), request: { method: 'PUT', url: 'Task/kp-sub-rb1' } },
          { resource: { resourceType: 'Task', id: 'kp-sub-rb2', status: 'not-a-status', intent: 'order' }, request: { method: 'PUT', url: 'Task/kp-sub-rb2' } },
        ],
      },
    });
    expect(failing.status).toBeGreaterThanOrEqual(400);
    await http(server, 'PUT', 'Task/kp-sub-rb3', { body: task('kp-sub-rb3', 'Organization/kp-sub-rb', 'kp-sub-ada') });
    const got = await waitFor('the committed event', () => (receiver.of(id).length >= 1 ? receiver.of(id) : undefined));
    expect(got.map((r) => r.bundle.entry[1].fullUrl.replace(/^.*\//, ''))).toEqual(['kp-sub-rb3']);
    expect(got[0].eventNumbers).toEqual([1]);
  });

  test("a subscription notifies only about what its owner's token may read", async () => {
    // The owner may read only requested Tasks (SMART v2 criteria): an accepted one is never sent.
    const token = await issueTestToken(server.server, 'system/Task.rs?status=requested system/Subscription.cruds');
    const id = await subscribe(topicSubscription(`${receiver.url}/mine`, ['Task.owner=Organization/kp-sub-own'], 'id-only'), token);
    await http(server, 'PUT', 'Task/kp-sub-o1', { body: task('kp-sub-o1', 'Organization/kp-sub-own', 'kp-sub-bo', 'accepted') });
    await http(server, 'PUT', 'Task/kp-sub-o2', { body: task('kp-sub-o2', 'Organization/kp-sub-own', 'kp-sub-ada') });
    const got = await waitFor('the owned event', () => (receiver.of(id).length >= 1 ? receiver.of(id) : undefined));
    expect(got.map((r) => r.bundle.entry[1].fullUrl.replace(/^.*\//, ''))).toEqual(['kp-sub-o2']);
    const stored = (await http(server, 'GET', `Subscription/${id}`)).body;
    const owner = stored.extension.find((e: any) => e.url === 'https://kanplan.org/fhir/StructureDefinition/subscription-owner');
    expect(owner.extension.filter((e: any) => e.url === 'scope').map((e: any) => e.valueString)).toContain('system/Task.rs?status=requested');
  });
  test('a subscription with a heartbeat period receives heartbeat bundles while nothing happens', async () => {
    const id = await subscribe(
      topicSubscription(`${receiver.url}/heartbeat`, ['Task.owner=Organization/kp-sub-quiet'], 'id-only', {
        extension: [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: 1 }],
      }),
    );
    const beats = await waitFor('two heartbeats', () => (receiver.of(id, 'heartbeat').length >= 2 ? receiver.of(id, 'heartbeat') : undefined));
    for (const beat of beats) {
      // Backport IG notifications.html: a heartbeat is the status entry alone, with the events counted so far.
      expect(beat.bundle.type).toBe('history');
      expect(beat.bundle.entry).toHaveLength(1);
      expect(beat.eventNumbers).toEqual([]);
      const parameters = beat.bundle.entry[0].resource.parameter;
      expect(parameters.find((p: any) => p.name === 'status').valueCode).toBe('active');
      expect(parameters.find((p: any) => p.name === 'events-since-subscription-start').valueString).toBe('0');
    }
    expect(receiver.of(id)).toEqual([]);
    // Heartbeats keep coming after an event, counting it.
    await http(server, 'PUT', 'Task/kp-sub-h1', { body: task('kp-sub-h1', 'Organization/kp-sub-quiet', 'kp-sub-ada') });
    await waitFor('the event', () => receiver.of(id).length === 1);
    const after = receiver.of(id, 'heartbeat').length;
    const later = await waitFor('a heartbeat after the event', () => receiver.of(id, 'heartbeat')[after]);
    expect(later.bundle.entry[0].resource.parameter.find((p: any) => p.name === 'events-since-subscription-start').valueString).toBe('1');
  });

  test("a subscription made with patient/ read scopes notifies only about that patient's Tasks, and never restricted ones", async () => {
    // A patient app's token: it reads Tasks of the patient in its launch context. Subscription is in
    // no patient's compartment, so patient/Subscription.c cannot create one; the app holds user/Subscription.cru.
    const token = await issueTestToken(server.server, 'patient/Task.rs user/Subscription.cru', '1h', { patient: 'kp-sub-ada' });
    const created = await http({ url: server.url, token }, 'POST', 'Subscription', { body: topicSubscription(`${receiver.url}/patient`, ['Task.owner=Organization/kp-sub-pat'], 'id-only') });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    await waitFor('status active', async () => (await http(server, 'GET', `Subscription/${id}`)).body.status === 'active');
    const writes = [
      task('kp-sub-p1', 'Organization/kp-sub-pat', 'kp-sub-bo'),
      { ...task('kp-sub-p2', 'Organization/kp-sub-pat', 'kp-sub-ada'), meta: { security: [RESTRICTED_LABEL] } },
      task('kp-sub-p3', 'Organization/kp-sub-pat', 'kp-sub-ada'),
    ] as { id: string }[];
    for (const body of writes) expect((await http(server, 'PUT', `Task/${body.id}`, { body })).status).toBe(201);
    const got = await waitFor('the readable event', () => (receiver.of(id).length >= 1 ? receiver.of(id) : undefined));
    // kp-sub-p3 was written last: had p1 (another person) or p2 (restricted, role rules) matched, they would come first.
    expect(got.map((r) => r.bundle.entry[1].fullUrl.replace(/^.*\//, ''))).toEqual(['kp-sub-p3']);
    expect(got[0].eventNumbers).toEqual([1]);
  });
});
