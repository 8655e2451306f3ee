import type { Bundle, BundleEntry, CarePlan, Goal, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const PATIENT = 'urn:uuid:6f1c2a3e-0000-4000-8000-000000000001';
const GOAL = 'urn:uuid:6f1c2a3e-0000-4000-8000-000000000002';
const PLAN = 'urn:uuid:6f1c2a3e-0000-4000-8000-000000000003';

function planBundle(): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: PLAN,
        resource: {
          resourceType: 'CarePlan',
          status: 'active',
          intent: 'plan',
          subject: { reference: PATIENT },
          goal: [{ reference: GOAL }],
          text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><a href="${PATIENT}">Member</a></div>` },
          extension: [{ url: 'http://example.org/fhir/StructureDefinition/related', valueReference: { reference: GOAL } }],
        } as CarePlan,
        request: { method: 'POST', url: 'CarePlan' },
      },
      {
        fullUrl: GOAL,
        resource: {
          resourceType: 'Goal',
          lifecycleStatus: 'active',
          description: { text: 'Live in my own apartment' },
          subject: { reference: PATIENT },
        },
        request: { method: 'POST', url: 'Goal' },
      },
      {
        fullUrl: PATIENT,
        resource: { resourceType: 'Patient', name: [{ family: 'Sampleton', given: ['Riley'] }] },
        request: { method: 'POST', url: 'Patient' },
      },
    ],
  };
}

async function historyCount(server: TestServer): Promise<number> {
  return (await http(server, 'GET', '_history?_count=1000')).body.entry.length;
}

describe.each(testDatabases)('transaction and batch on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind, { maxBundleEntries: 10 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('resolves urn:uuid references everywhere: references, extensions and narrative links', async () => {
    const response = (await server.client.transaction({ body: planBundle() })) as Bundle;
    expect(response.type).toBe('transaction-response');
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created', '201 Created']);
    const [plan, goal, patient] = response.entry?.map((e) => e.resource) as [CarePlan, Goal, Patient];
    expect(plan.subject.reference).toBe(`Patient/${patient.id}`);
    expect(plan.goal?.[0].reference).toBe(`Goal/${goal.id}`);
    expect(plan.extension?.[0].valueReference?.reference).toBe(`Goal/${goal.id}`);
    expect(plan.text?.div).toContain(`href="Patient/${patient.id}"`);
    expect(goal.subject.reference).toBe(`Patient/${patient.id}`);
    const stored = (await server.client.read({ resourceType: 'CarePlan', id: plan.id as string })) as CarePlan;
    expect(stored.subject.reference).toBe(`Patient/${patient.id}`);
    expect(response.entry?.[0].response?.location).toBe(`${server.url}/CarePlan/${plan.id}/_history/1`);
  });

  test('conditional references and urn:uuid placeholders are resolved inside extensions and uri elements too', async () => {
    const system = 'https://kanplan.org/fhir/sid/ks-medicaid-id';
    const value = `KS-EXT-${Date.now()}`;
    const member = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', identifier: [{ system, value }] } })) as Patient;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: {
            resourceType: 'Goal',
            lifecycleStatus: 'active',
            description: { text: 'Keep my job' },
            subject: { reference: PATIENT },
            extension: [
              // A conditional reference nested in a complex extension, and a placeholder in a uri.
              { url: 'http://example.org/fhir/StructureDefinition/supporter', extension: [{ url: 'who', valueReference: { reference: `Patient?identifier=${system}|${value}` } }] },
              { url: 'http://example.org/fhir/StructureDefinition/source', valueUri: PATIENT },
            ],
          } as Goal,
          request: { method: 'POST', url: 'Goal' },
        },
        { fullUrl: PATIENT, resource: { resourceType: 'Patient', name: [{ family: 'Sampleton' }] }, request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const response = (await server.client.transaction({ body: bundle })) as Bundle;
    const goal = response.entry?.[0].resource as Goal;
    const created = response.entry?.[1].resource as Patient;
    expect(goal.extension?.[0].extension?.[0].valueReference?.reference).toBe(`Patient/${member.id}`);
    expect(goal.extension?.[1].valueUri).toBe(`Patient/${created.id}`);
    expect(goal.subject.reference).toBe(`Patient/${created.id}`);
  });

  test('a failing entry rolls back every entry and the error names it', async () => {
    const before = await historyCount(server);
    const bundle = planBundle();
    Object.assign(bundle.entry?.[1].resource as Goal, { target: 'soon' });
    const res = await http(server, 'POST', '', { body: bundle });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toContain('Bundle.entry[1] (POST Goal)');
    expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[1\]/);
    expect(await historyCount(server)).toBe(before);
  });

  test('processes DELETE before POST before PUT before GET', async () => {
    const system = 'https://kanplan.org/fhir/sid/ks-medicaid-id';
    const value = `KS-ORDER-${Date.now()}`;
    const leaving = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', identifier: [{ system, value }] } })) as Patient;
    const staying = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: 'female' } })) as Patient;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Patient/${staying.id}` } },
        { resource: { resourceType: 'Patient', id: staying.id, gender: 'male' }, request: { method: 'PUT', url: `Patient/${staying.id}` } },
        // Would match `leaving` and create nothing if it ran before the DELETE.
        { resource: { resourceType: 'Patient', identifier: [{ system, value }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${system}|${value}` } },
        { request: { method: 'DELETE', url: `Patient/${leaving.id}` } },
      ],
    };
    const response = (await server.client.transaction({ body: bundle })) as Bundle;
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['200 OK', '200 OK', '201 Created', '200 OK']);
    expect((response.entry?.[2].resource as Patient).id).not.toBe(leaving.id);
    // The GET ran last and sees the PUT.
    expect((response.entry?.[0].resource as Patient).gender).toBe('male');
    expect((response.entry?.[0].resource as Patient).meta?.versionId).toBe('2');
  });

  test('two entries that write the same resource fail the transaction (resolved identities too)', async () => {
    const system = 'https://kanplan.org/fhir/sid/ks-medicaid-id';
    const value = `KS-OVERLAP-${Date.now()}`;
    const existing = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', identifier: [{ system, value }] } })) as Patient;
    const before = await historyCount(server);
    const put = { resource: { resourceType: 'Patient', id: existing.id, gender: 'male' }, request: { method: 'PUT', url: `Patient/${existing.id}` } };
    const overlapping = [
      [{ request: { method: 'DELETE', url: `Patient/${existing.id}` } }, put],
      [{ request: { method: 'DELETE', url: `Patient?identifier=${system}|${value}` } }, put],
      [{ resource: { resourceType: 'Patient', identifier: [{ system, value }] }, request: { method: 'PUT', url: `Patient?identifier=${system}|${value}` } }, put],
    ];
    for (const entry of overlapping) {
      const res = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry } });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toContain(`both write Patient/${existing.id}`);
      expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[[01]\]\.request\.url$/);
    }
    expect(await historyCount(server)).toBe(before);
  });

  test('PATCH entries take a FHIRPath Patch Parameters or a Binary holding a JSON Patch', async () => {
    const created = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } })) as Patient;
    const other = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } })) as Patient;
    const jsonPatch = Buffer.from(JSON.stringify([{ op: 'add', path: '/active', value: true }])).toString('base64');
    const response = (await server.client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: {
              resourceType: 'Parameters',
              parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'add' }, { name: 'path', valueString: 'Patient' }, { name: 'name', valueString: 'gender' }, { name: 'value', valueCode: 'male' }] }],
            },
            request: { method: 'PATCH', url: `Patient/${created.id}` },
          },
          // One entry per resource: two writes of one resource would overlap.
          { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: jsonPatch }, request: { method: 'PATCH', url: `Patient/${other.id}` } },
        ],
      },
    })) as Bundle;
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['200 OK', '200 OK']);
    const stored = (await server.client.read({ resourceType: 'Patient', id: created.id as string })) as Patient;
    expect(stored.gender).toBe('male');
    expect(stored.meta?.versionId).toBe('2');
    const patched = (await server.client.read({ resourceType: 'Patient', id: other.id as string })) as Patient;
    expect(patched.active).toBe(true);
    expect(patched.meta?.versionId).toBe('2');
  });

  test('two entries with the same fullUrl are 400 (bdl-7) and nothing is written', async () => {
    const before = await historyCount(server);
    const entry = { fullUrl: PATIENT, resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } };
    const res = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [entry, entry] } });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1].fullUrl']);
    expect(res.body.issue[0].diagnostics).toContain('also the fullUrl of Bundle.entry[0]');
    expect(await historyCount(server)).toBe(before);
  });

  test('a reference to a urn:uuid that no entry declares fails the bundle', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'x' }, subject: { reference: 'urn:uuid:00000000-0000-4000-8000-00000000dead' } },
          request: { method: 'POST', url: 'Goal' },
        },
      ],
    };
    const res = await http(server, 'POST', '', { body: bundle });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toContain('not the fullUrl of any entry');
  });

  test('If-Match inside a transaction is enforced per entry', async () => {
    const created = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } })) as Patient;
    const res = await http(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { ...created, gender: 'male' }, request: { method: 'PUT', url: `Patient/${created.id}`, ifMatch: 'W/"7"' } }],
      },
    });
    expect(res.status).toBe(412);
    expect(res.body.issue[0].diagnostics).toContain('Bundle.entry[0]');
  });

  test('batch entries succeed or fail independently, each with its own status', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', birthDate: 'someday' } as Patient, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        { request: { method: 'GET', url: 'metadata' } } as BundleEntry,
      ],
    };
    const response = (await server.client.batch({ body: bundle })) as Bundle;
    expect(response.type).toBe('batch-response');
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '400 Bad Request', '404 Not Found', '200 OK']);
    expect(response.entry?.[2].response?.outcome?.resourceType).toBe('OperationOutcome');
  });

  test('a failed batch entry leaves the entries that succeeded stored', async () => {
    const response = (await server.client.batch({
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'DELETE', url: 'Patient/never-was' } },
          { resource: { resourceType: 'Basic', code: { text: 'kept' } }, request: { method: 'POST', url: 'Basic' } },
          { resource: { resourceType: 'Basic', code: 'not a CodeableConcept' }, request: { method: 'POST', url: 'Basic' } },
        ],
      },
    })) as Bundle;
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['404 Not Found', '201 Created', '400 Bad Request']);
    const kept = response.entry?.[1].resource as { id: string };
    expect((await http(server, 'GET', `Basic/${kept.id}`)).status).toBe(200);
  });

  test('malformed entries are 400: Bundle.entry not an array, an entry that is not an object', async () => {
    const notArray = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'batch', entry: 'x' } });
    expect(notArray.status).toBe(400);
    expect(notArray.body.issue[0].expression).toEqual(['Bundle.entry']);
    const nullEntry = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [null] } });
    expect(nullEntry.status).toBe(400);
    expect(nullEntry.body.issue[0].expression).toEqual(['Bundle.entry[0].request']);
    const badUrl = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: 5 } }] } });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.issue[0].expression).toEqual(['Bundle.entry[0].request.url']);
    const batch = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'batch', entry: [null, { request: { method: 'GET', url: 'metadata' } }] } });
    expect(batch.status).toBe(200);
    expect(batch.body.entry.map((e: BundleEntry) => e.response?.status)).toEqual(['400 Bad Request', '200 OK']);
  });

  test('a batch over the entry limit is 413 too', async () => {
    const entry = Array.from({ length: 11 }, () => ({ request: { method: 'GET', url: 'metadata' } }));
    const res = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'batch', entry } });
    expect(res.status).toBe(413);
    expect(res.body.issue[0].code).toBe('too-costly');
  });

  test('a bundle over the entry limit is 413 and writes nothing', async () => {
    const before = await historyCount(server);
    const entry = Array.from({ length: 11 }, () => ({ resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } }));
    const res = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry } });
    expect(res.status).toBe(413);
    expect(res.body.issue[0].diagnostics).toContain('at most 10');
    expect(await historyCount(server)).toBe(before);
  });

  test('rejects a Bundle that is not a batch or transaction, and malformed entries', async () => {
    expect((await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'collection' } })).status).toBe(400);
    const noUrl = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST' }, resource: { resourceType: 'Basic' } }] } });
    expect(noUrl.status).toBe(400);
    expect(noUrl.body.issue[0].expression).toEqual(['Bundle.entry[0].request.url']);
    const unknownType = await http(server, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Careplan' }, resource: { resourceType: 'Careplan' } }] } });
    expect(unknownType.status).toBe(404);
    expect(unknownType.body.issue[0].diagnostics).toContain('Unknown resource type "Careplan"');
  });

  test('Prefer: return=OperationOutcome puts an outcome in each response entry instead of the resource', async () => {
    const res = await http(server, 'POST', '', { body: planBundle(), headers: { prefer: 'return=OperationOutcome' } });
    expect(res.status).toBe(200);
    for (const e of res.body.entry as BundleEntry[]) {
      expect(e.resource).toBeUndefined();
      expect(e.response?.outcome?.resourceType).toBe('OperationOutcome');
    }
  });

  test('Prefer: return=minimal leaves resources out of the response entries', async () => {
    const res = await http(server, 'POST', '', { body: planBundle(), headers: { prefer: 'return=minimal' } });
    expect(res.status).toBe(200);
    expect(res.body.entry.every((e: BundleEntry) => e.resource === undefined && e.response?.location)).toBe(true);
  });
});
