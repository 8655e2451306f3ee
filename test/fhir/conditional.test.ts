import type { Bundle, CarePlan, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const SYSTEM = 'https://kanplan.org/fhir/sid/ks-medicaid-id';
let counter = 0;
function medicaidId(): string {
  counter += 1;
  return `KS-TEST-${Date.now()}-${counter}`;
}

function member(id: string, family = 'Testperson'): Patient {
  return { resourceType: 'Patient', identifier: [{ system: SYSTEM, value: id }], name: [{ family }] };
}

describe.each(testDatabases)('conditional interactions on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('If-None-Exist creates once, then answers 200 with the existing resource', async () => {
    const id = medicaidId();
    const headers = { 'if-none-exist': `identifier=${SYSTEM}|${id}` };
    const first = await http(server, 'POST', 'Patient', { body: member(id), headers });
    expect(first.status).toBe(201);
    const second = await http(server, 'POST', 'Patient', { body: member(id), headers });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.meta.versionId).toBe('1');
  });

  test('If-None-Exist matching several resources is 412', async () => {
    const id = medicaidId();
    await server.client.create({ resourceType: 'Patient', body: member(id) });
    await server.client.create({ resourceType: 'Patient', body: member(id) });
    const res = await http(server, 'POST', 'Patient', { body: member(id), headers: { 'if-none-exist': `identifier=${SYSTEM}|${id}` } });
    expect(res.status).toBe(412);
    expect(res.body.issue[0].diagnostics).toContain('match more than one');
  });

  test('concurrent conditional creates with the same criteria create exactly one resource', async () => {
    const id = medicaidId();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => http(server, 'POST', 'Patient', { body: member(id), headers: { 'if-none-exist': `identifier=${SYSTEM}|${id}` } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const found = await http(server, 'GET', `Patient?identifier=${SYSTEM}|${id}`);
    expect(found.body.entry).toHaveLength(1);
  });

  test('concurrent transactions with the same conditional creates in opposite orders neither deadlock nor duplicate', async () => {
    const a = medicaidId();
    const b = medicaidId();
    const entry = (id: string) => ({ resource: member(id), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${SYSTEM}|${id}` } });
    const bundles = Array.from({ length: 6 }, (_, i) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: i % 2 ? [entry(a), entry(b)] : [entry(b), entry(a)],
    }));
    const results = await Promise.all(bundles.map((body) => http(server, 'POST', '', { body })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const id of [a, b]) {
      expect((await http(server, 'GET', `Patient?identifier=${SYSTEM}|${id}`)).body.entry).toHaveLength(1);
    }
  });

  test('conditional update creates when nothing matches and updates the single match', async () => {
    const id = medicaidId();
    const created = await http(server, 'PUT', `Patient?identifier=${SYSTEM}|${id}`, { body: member(id) });
    expect(created.status).toBe(201);
    const updated = await http(server, 'PUT', `Patient?identifier=${SYSTEM}|${id}`, { body: member(id, 'Renamed') });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.body.name[0].family).toBe('Renamed');
  });

  test('conditional update whose body id differs from the match is 400', async () => {
    const id = medicaidId();
    await http(server, 'PUT', `Patient?identifier=${SYSTEM}|${id}`, { body: member(id) });
    const res = await http(server, 'PUT', `Patient?identifier=${SYSTEM}|${id}`, { body: { ...member(id), id: 'someone-else' } });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toContain('differs from Patient/');
  });

  test('conditional delete removes the single match; several matches are 412', async () => {
    const id = medicaidId();
    const created = (await server.client.create({ resourceType: 'Patient', body: member(id) })) as Patient;
    const res = await http(server, 'DELETE', `Patient?identifier=${SYSTEM}|${id}`);
    expect(res.status).toBe(200);
    expect((await http(server, 'GET', `Patient/${created.id}`)).status).toBe(410);
    const none = await http(server, 'DELETE', `Patient?identifier=${SYSTEM}|${id}`);
    expect(none.status).toBe(200);
    expect(none.body.issue[0].diagnostics).toContain('nothing was deleted');
    const twice = medicaidId();
    await server.client.create({ resourceType: 'Patient', body: member(twice) });
    await server.client.create({ resourceType: 'Patient', body: member(twice) });
    expect((await http(server, 'DELETE', `Patient?identifier=${SYSTEM}|${twice}`)).status).toBe(412);
  });

  test('conditional patch patches the single match', async () => {
    const id = medicaidId();
    await server.client.create({ resourceType: 'Patient', body: member(id) });
    const res = await http(server, 'PATCH', `Patient?identifier=${SYSTEM}|${id}`, {
      body: [{ op: 'add', path: '/gender', value: 'female' }],
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(res.status).toBe(200);
    expect(res.body.gender).toBe('female');
  });

  test('transaction: conditional references and conditional creates resolve to existing resources', async () => {
    const id = medicaidId();
    const existing = (await server.client.create({ resourceType: 'Patient', body: member(id) })) as Patient;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0b5d6f1e-1111-4000-8000-000000000001',
          resource: member(id),
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${SYSTEM}|${id}` },
        },
        {
          resource: {
            resourceType: 'CarePlan',
            status: 'active',
            intent: 'plan',
            subject: { reference: `Patient?identifier=${SYSTEM}|${id}` },
            author: { reference: 'urn:uuid:0b5d6f1e-1111-4000-8000-000000000001' },
          } as CarePlan,
          request: { method: 'POST', url: 'CarePlan' },
        },
      ],
    };
    const response = (await server.client.transaction({ body: bundle })) as Bundle;
    expect(response.entry?.[0].response?.status).toBe('200 OK');
    const plan = response.entry?.[1].resource as CarePlan;
    expect(plan.subject.reference).toBe(`Patient/${existing.id}`);
    expect(plan.author?.reference).toBe(`Patient/${existing.id}`);
  });

  test('transaction: a conditional reference that matches nothing fails the bundle with 412', async () => {
    const res = await http(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: `Patient?identifier=${SYSTEM}|nobody` } },
            request: { method: 'POST', url: 'CarePlan' },
          },
        ],
      },
    });
    expect(res.status).toBe(412);
    expect(res.body.issue[0].diagnostics).toContain('matches 0 resources; it must match exactly one');
    expect(res.body.issue[0].expression[0]).toBe('Bundle.entry[0].resource.subject.reference');
  });

  test('transaction: a conditional update entry resolves its fullUrl for other entries', async () => {
    const id = medicaidId();
    const response = (await server.client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Work part-time' }, subject: { reference: 'urn:uuid:0b5d6f1e-2222-4000-8000-000000000001' } },
            request: { method: 'POST', url: 'Goal' },
          },
          {
            fullUrl: 'urn:uuid:0b5d6f1e-2222-4000-8000-000000000001',
            resource: member(id),
            request: { method: 'PUT', url: `Patient?identifier=${SYSTEM}|${id}` },
          },
        ],
      },
    })) as Bundle;
    const patient = response.entry?.[1].resource as Patient;
    expect(response.entry?.[1].response?.status).toBe('201 Created');
    expect((response.entry?.[0].resource as { subject: { reference: string } }).subject.reference).toBe(`Patient/${patient.id}`);
  });
});
