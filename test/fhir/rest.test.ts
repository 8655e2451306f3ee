import { RESPONSE_KEY } from 'fhir-kit-client';
import type { Bundle, CarePlan, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/** The HTTP response behind a fhir-kit-client result (status and headers). */
function responseOf(result: object): Response {
  return (result as Record<typeof RESPONSE_KEY, Response>)[RESPONSE_KEY];
}

/** The error fhir-kit-client throws for a non-2xx answer. */
async function failure(promise: Promise<unknown>): Promise<{ status: number; data: OperationOutcome }> {
  try {
    await promise;
  } catch (err) {
    return (err as { response: { status: number; data: OperationOutcome } }).response;
  }
  throw new Error('expected the request to fail');
}

const patient: Patient = {
  resourceType: 'Patient',
  name: [{ family: 'Testperson', given: ['Avery'] }],
  birthDate: '1990-04-01',
};

function carePlanFor(patientId: string): CarePlan {
  return {
    resourceType: 'CarePlan',
    status: 'active',
    intent: 'plan',
    subject: { reference: `Patient/${patientId}` },
  };
}

describe.each(testDatabases)('FHIR REST interactions on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind, { maxBodyBytes: 64 * 1024, maxBundleEntries: 5 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe('create', () => {
    test('assigns a UUID, version 1, and answers 201 with Location, ETag and Last-Modified', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: { ...patient, id: 'client-chosen' } })) as Patient;
      const response = responseOf(created);
      expect(response.status).toBe(201);
      expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(created.id).not.toBe('client-chosen');
      expect(created.meta?.versionId).toBe('1');
      expect(Date.parse(created.meta?.lastUpdated ?? '')).not.toBeNaN();
      expect(response.headers.get('location')).toBe(`${server.url}/Patient/${created.id}/_history/1`);
      expect(response.headers.get('etag')).toBe('W/"1"');
      expect(response.headers.get('last-modified')).toBe(new Date(created.meta?.lastUpdated as string).toUTCString());
      expect(response.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    });

    test('rejects an unknown element with 400 and an expression pointing at it, storing nothing', async () => {
      const before = await http(server, 'GET', '_history?_count=1000');
      const res = await failure(server.client.create({ resourceType: 'Patient', body: { ...patient, nickname: 'Ave' } }));
      expect(res.status).toBe(400);
      expect(res.data.resourceType).toBe('OperationOutcome');
      expect(res.data.issue[0].expression).toEqual(['Patient.nickname']);
      const after = await http(server, 'GET', '_history?_count=1000');
      expect(after.body.entry.length).toBe(before.body.entry.length);
    });

    test('rejects a wrong type and a missing required element', async () => {
      const res = await failure(
        server.client.create({ resourceType: 'CarePlan', body: { resourceType: 'CarePlan', intent: 'plan', subject: { reference: 'Patient/x' }, created: 'yesterday' } }),
      );
      expect(res.status).toBe(400);
      const expressions = res.data.issue.flatMap((i) => i.expression ?? []);
      expect(expressions).toContain('CarePlan.status');
      expect(expressions).toContain('CarePlan.created');
    });

    test('rejects a body whose resourceType differs from the URL', async () => {
      const res = await http(server, 'POST', 'CarePlan', { body: patient });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toContain('resourceType is "Patient" but the URL is for CarePlan');
    });

    test('Prefer: return=minimal sends no body, return=OperationOutcome sends the outcome', async () => {
      const minimal = await http(server, 'POST', 'Patient', { body: patient, headers: { prefer: 'return=minimal' } });
      expect(minimal.status).toBe(201);
      expect(minimal.text).toBe('');
      expect(minimal.headers.get('location')).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
      const outcome = await http(server, 'POST', 'Patient', { body: patient, headers: { prefer: 'return=OperationOutcome' } });
      expect(outcome.status).toBe(201);
      expect(outcome.body.resourceType).toBe('OperationOutcome');
      expect(outcome.body.issue[0].severity).toBe('information');
    });
  });

  describe('read and vread', () => {
    test('reads the current version and a past version', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      await server.client.update({ resourceType: 'Patient', id: created.id as string, body: { ...created, gender: 'female' } });
      const current = (await server.client.read({ resourceType: 'Patient', id: created.id as string })) as Patient;
      expect(current.gender).toBe('female');
      expect(current.meta?.versionId).toBe('2');
      expect(responseOf(current).headers.get('etag')).toBe('W/"2"');
      const first = (await server.client.vread({ resourceType: 'Patient', id: created.id as string, version: '1' })) as Patient;
      expect(first.gender).toBeUndefined();
      expect(first.meta?.versionId).toBe('1');
    });

    test('answers 404 for an unknown id and for an unknown version', async () => {
      expect((await failure(server.client.read({ resourceType: 'Patient', id: 'no-such-patient' }))).status).toBe(404);
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      expect((await failure(server.client.vread({ resourceType: 'Patient', id: created.id as string, version: '9' }))).status).toBe(404);
    });

    test('HEAD answers the headers of a read without a body', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const res = await http(server, 'HEAD', `Patient/${created.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe('W/"1"');
      expect(res.text).toBe('');
    });

    test('answers 404 for an unknown resource type', async () => {
      const res = await http(server, 'GET', 'Patients/1');
      expect(res.status).toBe(404);
      expect(res.body.issue[0].diagnostics).toContain('Unknown resource type "Patients"');
    });

    test('rejects an id that is not a FHIR id', async () => {
      const res = await http(server, 'GET', `Patient/${encodeURIComponent("1' OR '1'='1")}`);
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toContain('not a valid FHIR id');
      const long = await http(server, 'PUT', `Patient/${'a'.repeat(65)}`, { body: { ...patient, id: 'a'.repeat(65) } });
      expect(long.status).toBe(400);
    });

    test('If-None-Match and If-Modified-Since give 304 when unchanged', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const etag = await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-none-match': 'W/"1"' } });
      expect(etag.status).toBe(304);
      expect(etag.text).toBe('');
      const changed = await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-none-match': 'W/"0"' } });
      expect(changed.status).toBe(200);
      const later = new Date(Date.parse(created.meta?.lastUpdated as string) + 60_000).toUTCString();
      expect((await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-modified-since': later } })).status).toBe(304);
      const earlier = new Date(Date.parse(created.meta?.lastUpdated as string) - 60_000).toUTCString();
      expect((await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-modified-since': earlier } })).status).toBe(200);
    });
  });

  describe('conditional read', () => {
    test('If-None-Match takes a list of entity tags and *', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      expect((await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-none-match': 'W/"3", W/"1"' } })).status).toBe(304);
      expect((await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-none-match': 'W/"2", W/"3"' } })).status).toBe(200);
      expect((await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-none-match': '*' } })).status).toBe(304);
      const bad = await http(server, 'GET', `Patient/${created.id}`, { headers: { 'if-none-match': 'yesterday' } });
      expect(bad.status).toBe(400);
      expect(bad.body.issue[0].expression).toEqual(['If-None-Match']);
    });
  });

  describe('update', () => {
    test('update-as-create with a client id answers 201, then 200 with version 2', async () => {
      const id = `kp-${Date.now()}`;
      const created = (await server.client.update({ resourceType: 'Patient', id, body: { ...patient, id } })) as Patient;
      expect(responseOf(created).status).toBe(201);
      expect(created.meta?.versionId).toBe('1');
      const updated = (await server.client.update({ resourceType: 'Patient', id, body: { ...patient, id, gender: 'male' } })) as Patient;
      expect(responseOf(updated).status).toBe(200);
      expect(updated.meta?.versionId).toBe('2');
    });

    test('an update with unchanged content keeps the current version', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const again = await http(server, 'PUT', `Patient/${created.id}`, { body: created, headers: { prefer: 'return=OperationOutcome' } });
      expect(again.status).toBe(200);
      expect(again.headers.get('etag')).toBe('W/"1"');
      expect(again.body.issue[0].diagnostics).toContain('version 1 was kept');
      const history = await http(server, 'GET', `Patient/${created.id}/_history`);
      expect(history.body.entry).toHaveLength(1);
    });

    test('rejects an id in the body that differs from the URL', async () => {
      const res = await http(server, 'PUT', 'Patient/abc', { body: { ...patient, id: 'xyz' } });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toContain('does not match the id in the URL');
    });

    test('If-Match with a stale version answers 412 and changes nothing', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const id = created.id as string;
      await server.client.update({ resourceType: 'Patient', id, body: { ...created, gender: 'other' }, options: { headers: { 'if-match': 'W/"1"' } } });
      const stale = await failure(
        server.client.update({ resourceType: 'Patient', id, body: { ...created, gender: 'male' }, options: { headers: { 'if-match': 'W/"1"' } } }),
      );
      expect(stale.status).toBe(412);
      expect(stale.data.issue[0].diagnostics).toContain('current version is 2');
      const current = (await server.client.read({ resourceType: 'Patient', id })) as Patient;
      expect(current.gender).toBe('other');
      expect(current.meta?.versionId).toBe('2');
    });

    // https://hl7.org/fhir/R4/http.html#concurrency: a version that does not match is 412, also one
    // this server could never have written; only what is not a version tag at all is 400.
    test('If-Match naming a version that is no version of this resource (W/"1-old") answers 412; a malformed tag 400', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const id = created.id as string;
      const foreign = await http(server, 'PUT', `Patient/${id}`, { body: { ...created, gender: 'male' }, headers: { 'if-match': 'W/"1-old"' } });
      expect(foreign.status, foreign.text).toBe(412);
      const malformed = await http(server, 'PUT', `Patient/${id}`, { body: { ...created, gender: 'male' }, headers: { 'if-match': 'W/"1 old/x"' } });
      expect(malformed.status).toBe(400);
    });

    test('concurrent updates each get their own version, none lost', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const id = created.id as string;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          server.client.update({ resourceType: 'Patient', id, body: { ...patient, id, name: [{ family: `Writer${i}` }] } }),
        ),
      );
      const versions = results.map((r) => Number((r as Patient).meta?.versionId)).sort((a, b) => a - b);
      expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    });

    test('concurrent If-Match updates of the same version: exactly one wins, the rest get 412', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const id = created.id as string;
      const statuses = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          http(server, 'PUT', `Patient/${id}`, { body: { ...patient, id, name: [{ family: `Racer${i}` }] }, headers: { 'if-match': 'W/"1"' } }).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 412)).toHaveLength(3);
    });
    test('concurrent update-as-create of one new id: one 201, the others succeed as updates or get 409, never 500', async () => {
      const id = `race-${Date.now()}`;
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => http(server, 'PUT', `Patient/${id}`, { body: { ...patient, id, name: [{ family: `Creator${i}` }] } })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.every((s) => s === 201 || s === 200 || s === 409)).toBe(true);
      const conflicts = results.filter((r) => r.status === 409);
      for (const res of conflicts) {
        expect(res.body.issue[0].diagnostics).toContain('retry');
      }
      const history = await http(server, 'GET', `Patient/${id}/_history`);
      expect(history.body.entry).toHaveLength(statuses.filter((s) => s !== 409).length);
    });
  });

  describe('create races', () => {
    // PostgreSQL only: PGlite runs one transaction at a time, so two creates never overlap there.
    test.runIf(kind === 'postgres')('a create that loses the race for a new id is 409 with a diagnostic to retry, and writes nothing', async () => {
      const id = `race-409-${Date.now()}`;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holderPid: number | undefined;
      const holderStarted = new Promise<void>((started) => {
        // Another writer creates the id first and holds its transaction open until released.
        void server.server.ctx.repo.transaction(async (repo) => {
          const [row] = await repo.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          holderPid = row.pid;
          await repo.create({ resourceType: 'Patient', gender: 'female' } as Patient, id);
          // A query in the transaction makes sure the row has reached the database.
          await repo.sql.query('SELECT 1 FROM resource WHERE resource_type = $1 AND id = $2', ['Patient', id]);
          started();
          await gate;
        });
      });
      await holderStarted;
      const put = http(server, 'PUT', `Patient/${id}`, { body: { ...patient, id } });
      // Wait until the PUT is blocked behind the holder's uncommitted row, then let the holder commit.
      for (;;) {
        const waiting = await server.db.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holderPid as number]);
        if (waiting.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      release();
      const res = await put;
      expect(res.status).toBe(409);
      expect(res.body.issue[0].code).toBe('conflict');
      expect(res.body.issue[0].diagnostics).toContain('retry');
      const current = (await server.client.read({ resourceType: 'Patient', id })) as Patient;
      expect(current.gender).toBe('female');
      expect((await http(server, 'GET', `Patient/${id}/_history`)).body.entry).toHaveLength(1);
    });
  });

  describe('patch', () => {
    test('JSON Patch changes the resource and bumps the version', async () => {
      const created = (await server.client.create({ resourceType: 'CarePlan', body: carePlanFor('p1') })) as CarePlan;
      const patched = (await server.client.patch({
        resourceType: 'CarePlan',
        id: created.id as string,
        jsonPatch: [{ op: 'replace', path: '/status', value: 'on-hold' }],
      })) as CarePlan;
      expect(patched.status).toBe('on-hold');
      expect(patched.meta?.versionId).toBe('2');
    });

    test('FHIRPath Patch (Parameters) changes the resource', async () => {
      const created = (await server.client.create({ resourceType: 'CarePlan', body: carePlanFor('p1') })) as CarePlan;
      const res = await http(server, 'PATCH', `CarePlan/${created.id}`, {
        body: {
          resourceType: 'Parameters',
          parameter: [
            {
              name: 'operation',
              part: [
                { name: 'type', valueCode: 'add' },
                { name: 'path', valueString: 'CarePlan' },
                { name: 'name', valueString: 'description' },
                { name: 'value', valueString: 'Supports for living at home' },
              ],
            },
          ],
        },
      });
      expect(res.status).toBe(200);
      expect(res.body.description).toBe('Supports for living at home');
    });

    test('a FHIRPath Patch operation without type or path is 400 naming the parameter', async () => {
      const created = (await server.client.create({ resourceType: 'CarePlan', body: carePlanFor('p1') })) as CarePlan;
      const res = await http(server, 'PATCH', `CarePlan/${created.id}`, {
        body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }] }] },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].expression).toEqual(['Parameters.parameter[0].part']);
      expect(res.body.issue[0].diagnostics).toContain('needs a "type" part');
    });

    test('a patch that breaks the resource is rejected with the validation issue', async () => {
      const created = (await server.client.create({ resourceType: 'CarePlan', body: carePlanFor('p1') })) as CarePlan;
      const res = await http(server, 'PATCH', `CarePlan/${created.id}`, {
        body: [{ op: 'remove', path: '/status' }],
        headers: { 'content-type': 'application/json-patch+json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].expression).toEqual(['CarePlan.status']);
      const current = (await server.client.read({ resourceType: 'CarePlan', id: created.id as string })) as CarePlan;
      expect(current.meta?.versionId).toBe('1');
    });

    test('concurrent patches each apply to the latest version, none lost', async () => {
      const created = (await server.client.create({ resourceType: 'CarePlan', body: { ...carePlanFor('p1'), note: [{ text: 'first note' }] } })) as CarePlan;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          http(server, 'PATCH', `CarePlan/${created.id}`, {
            body: [{ op: 'add', path: '/note/-', value: { text: `note ${i}` } }],
            headers: { 'content-type': 'application/json-patch+json' },
          }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const current = (await server.client.read({ resourceType: 'CarePlan', id: created.id as string })) as CarePlan;
      expect(current.note).toHaveLength(7);
      expect(current.meta?.versionId).toBe('7');
    });

    test('a failing JSON Patch test operation is a 400 naming the operation', async () => {
      const created = (await server.client.create({ resourceType: 'CarePlan', body: carePlanFor('p1') })) as CarePlan;
      const res = await http(server, 'PATCH', `CarePlan/${created.id}`, {
        body: [{ op: 'test', path: '/status', value: 'draft' }],
        headers: { 'content-type': 'application/json-patch+json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toContain('JSON Patch operation 0');
    });
  });

  describe('delete', () => {
    test('delete then read is 410 Gone; history keeps the versions; re-create continues numbering', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const id = created.id as string;
      const deleted = await http(server, 'DELETE', `Patient/${id}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body.resourceType).toBe('OperationOutcome');
      expect((await failure(server.client.read({ resourceType: 'Patient', id }))).status).toBe(410);
      expect((await http(server, 'DELETE', `Patient/${id}`)).status).toBe(200);
      const history = (await server.client.history({ resourceType: 'Patient', id })) as Bundle;
      expect(history.type).toBe('history');
      expect(history.entry?.map((e) => e.request?.method)).toEqual(['DELETE', 'POST']);
      const recreated = (await server.client.update({ resourceType: 'Patient', id, body: { ...patient, id } })) as Patient;
      expect(responseOf(recreated).status).toBe(201);
      expect(recreated.meta?.versionId).toBe('3');
    });

    test('deleting an id that never existed is 404', async () => {
      expect((await http(server, 'DELETE', 'Patient/never-was')).status).toBe(404);
    });
  });

  describe('history', () => {
    test('type history pages newest first with next links that stay stable while data changes', async () => {
      const type = 'Basic';
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const basic = (await server.client.create({ resourceType: type, body: { resourceType: type, code: { text: `item ${i}` } } })) as { id: string };
        ids.push(basic.id);
      }
      const page1 = (await server.client.typeHistory({ resourceType: type, options: { searchParams: { _count: '2' } } as never })) as Bundle;
      const first = await http(server, 'GET', `${type}/_history?_count=2`);
      expect(first.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([ids[4], ids[3]]);
      void page1;
      // A write between pages must not shift the next page.
      await server.client.create({ resourceType: type, body: { resourceType: type, code: { text: 'late' } } });
      const next = first.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
      const second = await http(server, 'GET', next.slice(server.url.length + 1));
      expect(second.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([ids[2], ids[1]]);
    });

    test('_since and _at select versions by time; system history sees every type', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const since = created.meta?.lastUpdated as string;
      await server.client.update({ resourceType: 'Patient', id: created.id as string, body: { ...created, gender: 'female' } });
      const res = await http(server, 'GET', `Patient/${created.id}/_history?_since=${encodeURIComponent(since)}`);
      expect(res.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual(['W/"2"', 'W/"1"']);
      const at = await http(server, 'GET', `Patient/${created.id}/_history?_at=${encodeURIComponent(since)}`);
      expect(at.body.entry).toHaveLength(1);
      expect(at.body.entry[0].resource.meta.versionId).toBe('1');
      const system = await http(server, 'GET', `_history?_since=${encodeURIComponent(since)}`);
      expect(system.body.entry.length).toBeGreaterThanOrEqual(2);
    });

    test('_since and _at take dates of any precision; _at selects versions current during the period', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const id = created.id as string;
      const updated = (await server.client.update({ resourceType: 'Patient', id, body: { ...created, gender: 'female' } })) as Patient;
      const year = (created.meta?.lastUpdated as string).slice(0, 4);
      // The day version 2 was written: version 1 was current at its start, or written in it.
      const day = (updated.meta?.lastUpdated as string).slice(0, 10);
      for (const value of [year, `${year}-01`, (created.meta?.lastUpdated as string).slice(0, 10), `${(created.meta?.lastUpdated as string).slice(0, 10)}T00:00Z`, `${(created.meta?.lastUpdated as string).slice(0, 10)}T00:00:00%2B00:00`]) {
        const since = await http(server, 'GET', `Patient/${id}/_history?_since=${value}`);
        expect(since.status).toBe(200);
        expect(since.body.entry).toHaveLength(2);
      }
      // Both versions were current at some point of the day they were written.
      const at = await http(server, 'GET', `Patient/${id}/_history?_at=${day}`);
      expect(at.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual(['W/"2"', 'W/"1"']);
      const before = await http(server, 'GET', `Patient/${id}/_history?_at=${Number(year) - 1}`);
      expect(before.body.entry).toEqual([]);
    });

    test('instance and system history page with _count and next links', async () => {
      const created = (await server.client.create({ resourceType: 'Patient', body: patient })) as Patient;
      const id = created.id as string;
      for (const gender of ['female', 'male', 'other'] as const) {
        await server.client.update({ resourceType: 'Patient', id, body: { ...created, gender } });
      }
      const etags: string[] = [];
      let page = await http(server, 'GET', `Patient/${id}/_history?_count=3`);
      for (;;) {
        expect(page.status).toBe(200);
        etags.push(...page.body.entry.map((e: { response: { etag: string } }) => e.response.etag));
        const next = page.body.link.find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
        if (!next) break;
        expect(next).toContain('_count=3');
        page = await http(server, 'GET', next.slice(server.url.length + 1));
      }
      expect(etags).toEqual(['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']);
      const plain = await http(server, 'GET', `Patient/${id}/_history`);
      expect(plain.body.link[0]).toEqual({ relation: 'self', url: `${server.url}/Patient/${id}/_history` });
      const system = await http(server, 'GET', '_history?_count=2');
      expect(system.body.entry).toHaveLength(2);
      expect(system.body.link.find((l: { relation: string }) => l.relation === 'next').url).toMatch(/\/_history\?_count=2&_page=/);
    });

    test('rejects calendar-impossible history dates with 400', async () => {
      for (const value of ['2026-02-30', '2026-13', '2026-01-01T24:00:00Z']) {
        const res = await http(server, 'GET', `Patient/_history?_since=${value}`);
        expect(res.status).toBe(400);
        expect(res.body.issue[0].expression).toEqual(['_since']);
      }
      expect((await http(server, 'GET', '_history?_at=2026-02-30T10:00:00Z')).status).toBe(400);
    });

    test('a _since or _at time without a time zone is 400 asking for one (R4 dateTime, instant)', async () => {
      for (const query of ['_since=2026-01-31T12:00', '_since=2026-01-31T12:00:00', '_at=2026-01-31T12:00:00.5']) {
        const res = await http(server, 'GET', `Patient/_history?${query}`);
        expect(res.status).toBe(400);
        expect(res.body.issue[0].expression).toEqual([query.split('=')[0]]);
        expect(res.body.issue[0].diagnostics).toContain('no time zone; add Z or an offset');
      }
    });

    test('rejects unknown history parameters and malformed dates', async () => {
      const bad = await http(server, 'GET', 'Patient/_history?_since=last-tuesday');
      expect(bad.status).toBe(400);
      expect(bad.body.issue[0].expression).toEqual(['_since']);
      expect((await http(server, 'GET', 'Patient/_history?status=active')).status).toBe(400);
    });
  });

  describe('content negotiation and limits', () => {
    test('malformed JSON is 400 saying where', async () => {
      const res = await http(server, 'POST', 'Patient', { raw: '{"resourceType": "Patient",', headers: { 'content-type': 'application/fhir+json' } });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toMatch(/not valid JSON at line 1, column \d+/);
    });

    test('XML bodies are 415 and XML responses 406, each with an OperationOutcome', async () => {
      const xml = await http(server, 'POST', 'Patient', { raw: '<Patient xmlns="http://hl7.org/fhir"/>', headers: { 'content-type': 'application/fhir+xml' } });
      expect(xml.status).toBe(415);
      expect(xml.body.resourceType).toBe('OperationOutcome');
      const accept = await http(server, 'GET', 'metadata', { headers: { accept: 'application/fhir+xml' } });
      expect(accept.status).toBe(406);
      expect((await http(server, 'GET', 'metadata?_format=xml')).status).toBe(406);
      expect((await http(server, 'GET', 'metadata?_format=json')).status).toBe(200);
      // Clients often leave the + of application/fhir+json unescaped; it must not read as XML.
      expect((await http(server, 'GET', 'metadata?_format=application/fhir+json')).status).toBe(200);
      expect((await http(server, 'GET', 'metadata?_format=application/fhir%2Bjson;fhirVersion=4.0')).status).toBe(200);
      expect((await http(server, 'GET', 'metadata?_format=application/fhir+xml')).status).toBe(406);
      expect((await http(server, 'GET', 'metadata', { headers: { accept: 'application/fhir+json; fhirVersion=4.0' } })).status).toBe(200);
    });

    test('_pretty indents the JSON', async () => {
      const res = await http(server, 'GET', 'metadata?_pretty=true');
      expect(res.text.startsWith('{\n  "resourceType": "CapabilityStatement"')).toBe(true);
    });

    test('a body over the size limit is 413', async () => {
      const big = { ...patient, name: [{ family: 'x'.repeat(70 * 1024) }] };
      const res = await http(server, 'POST', 'Patient', { body: big });
      expect(res.status).toBe(413);
      expect(res.body.issue[0].diagnostics).toContain('MAX_BODY_SIZE');
    });

    test('a URL path with a malformed percent-encoding is 400, not 500', async () => {
      const res = await http(server, 'GET', 'Patient/%E0%A4%A');
      expect(res.status).toBe(400);
      expect(res.body.issue[0].code).toBe('invalid');
      expect(res.body.issue[0].diagnostics).toContain('malformed percent-encoding');
    });

    test('an unsupported method is 405', async () => {
      const res = await http(server, 'POST', 'Patient/123', { body: patient });
      expect(res.status).toBe(405);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].code).toBe('not-supported');
      // A 405 names the methods the target does allow (RFC 9110 section 15.5.6).
      expect(res.headers.get('allow')).toBe('GET, HEAD, PUT, PATCH, DELETE');
      const history = await http(server, 'DELETE', 'Patient/_history');
      expect(history.status).toBe(405);
      expect(history.headers.get('allow')).toBe('GET, HEAD');
      const options = await http(server, 'OPTIONS', 'Patient');
      expect(options.status).toBe(405);
      expect(options.headers.get('allow')).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    });
  });

  describe('CapabilityStatement', () => {
    test('describes FHIR 4.0.1 JSON with every resource type and the interactions the router serves', async () => {
      const cs = (await server.client.capabilityStatement()) as unknown as {
        fhirVersion: string;
        format: string[];
        rest: { resource: { type: string; interaction: { code: string }[]; conditionalCreate: boolean }[]; interaction: { code: string }[] }[];
      };
      expect(cs.fhirVersion).toBe('4.0.1');
      expect(cs.format).toEqual(['json']);
      const types = cs.rest[0].resource.map((r) => r.type);
      for (const type of ['CarePlan', 'Goal', 'ServiceRequest', 'Task', 'Patient', 'Basic']) {
        expect(types).toContain(type);
      }
      expect(types).not.toContain('DomainResource');
      const carePlan = cs.rest[0].resource.find((r) => r.type === 'CarePlan');
      expect(carePlan?.interaction.map((i) => i.code)).toEqual(
        expect.arrayContaining(['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type']),
      );
      expect(cs.rest[0].interaction.map((i) => i.code)).toEqual(expect.arrayContaining(['transaction', 'batch', 'search-system', 'history-system']));
      // Each flag is what the tests in this file show the server doing.
      expect(carePlan).toMatchObject({
        versioning: 'versioned-update', // If-Match, 412 on a stale version
        readHistory: true, // vread
        updateCreate: true, // update-as-create
        conditionalCreate: true, // If-None-Exist
        conditionalUpdate: true,
        conditionalDelete: 'single', // several matches are 412
        conditionalRead: 'full-support', // If-None-Match and If-Modified-Since
      });
      expect((cs as unknown as { patchFormat: string[] }).patchFormat).toEqual(['application/json-patch+json', 'application/fhir+json']);
    });
  });
});

/** A well-formed value of each search parameter type (https://hl7.org/fhir/R4/search.html). */
const SAMPLE_VALUES: Record<string, string[]> = {
  token: ['x'],
  string: ['x'],
  date: ['2020'],
  number: ['1'],
  quantity: ['1'],
  uri: ['http://example.org/x'],
  reference: ['Patient/1'],
  // A composite's components are not in the CapabilityStatement: one of these shapes fits each.
  composite: ['x$x', 'x$1', 'x$2020', 'x$x$x', 'x$x$2020'],
};

describe('CapabilityStatement tells the truth', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('every search parameter it lists answers a search with a well-formed value', async () => {
    const cs = (await http(server, 'GET', 'metadata')).body as {
      rest: { resource: { type: string; searchParam?: { name: string; type: string }[] }[] }[];
    };
    const refused: string[] = [];
    let listed = 0;
    for (const resource of cs.rest[0].resource) {
      for (const param of resource.searchParam ?? []) {
        listed += 1;
        const statuses: number[] = [];
        for (const value of SAMPLE_VALUES[param.type] ?? ['x']) {
          const res = await http(server, 'GET', `${resource.type}?${encodeURIComponent(param.name)}=${encodeURIComponent(value)}&_count=1&_total=none`);
          statuses.push(res.status);
          if (res.status === 200) break;
        }
        if (!statuses.includes(200)) refused.push(`${resource.type}?${param.name} (${param.type}): ${statuses.join(', ')}`);
      }
    }
    expect(listed).toBeGreaterThan(2000);
    expect(refused).toEqual([]);
  });
});

describe('health endpoints', () => {
  test('/healthz and /readyz answer while the server runs', async () => {
    const server = await startTestServer('pglite');
    try {
      const root = server.url.replace(/\/fhir$/, '');
      expect((await fetch(`${root}/healthz`)).status).toBe(200);
      const ready = await fetch(`${root}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', database: 'pglite' });
    } finally {
      await server.stop();
    }
  });
});

describe('Kansas conformance resources', () => {
  test('are served at their REST endpoints and listed as supported profiles', async () => {
    const server = await startTestServer('pglite');
    try {
      const pcsp = 'https://kanplan.org/fhir/StructureDefinition/ks-pcsp-careplan';
      const found = await http(server, 'GET', `StructureDefinition?url=${encodeURIComponent(pcsp)}`);
      expect(found.status).toBe(200);
      expect(found.body.entry).toHaveLength(1);
      expect(found.body.entry[0].resource.snapshot.element.length).toBeGreaterThan(10);
      const cs = await http(server, 'GET', 'metadata');
      const carePlan = cs.body.rest[0].resource.find((r: { type: string }) => r.type === 'CarePlan');
      expect(carePlan.supportedProfile).toContain(pcsp);
    } finally {
      await server.stop();
    }
  });
});
