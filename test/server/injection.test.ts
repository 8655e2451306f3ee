import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const SQL = ["' OR '1'='1", "x'; DROP TABLE resource; --", "x') UNION SELECT content FROM resource_history --", '$1', "\\'; SELECT pg_sleep(5); --"];
const FHIRPATH = ["name.where(true)", "Patient.name.family | Patient.id", "iif(true, 'a', 'b')", "%resource.id", ")(", "descendants()"];

/** Every value that reaches SQL is a parameter: injection attempts are literal text, never statements. */
describe.each(testDatabases)('SQL and FHIRPath injection (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
    await server.client.update({ resourceType: 'Patient', id: 'inj-1', body: { resourceType: 'Patient', id: 'inj-1', name: [{ family: SQL[1] }], identifier: [{ system: 'urn:test', value: SQL[0] }] } });
    await server.client.update({ resourceType: 'Patient', id: 'inj-2', body: { resourceType: 'Patient', id: 'inj-2', name: [{ family: 'Plainperson' }] } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function counts(): Promise<number[]> {
    const [row] = await server.db.query<{ r: number; h: number }>('SELECT (SELECT count(*)::int FROM resource) AS r, (SELECT count(*)::int FROM resource_history) AS h');
    return [row.r, row.h];
  }

  test('search values, modifiers, ids, sort keys and include targets carrying SQL or FHIRPath match literally or are refused, and change nothing', async () => {
    const before = await counts();
    // The stored injection text is found as text, and only where it is.
    const byName = await http(server, 'GET', `Patient?family:exact=${encodeURIComponent(SQL[1])}`);
    expect((byName.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual(['inj-1']);
    const byToken = await http(server, 'GET', `Patient?identifier=${encodeURIComponent(`urn:test|${SQL[0]}`)}`);
    expect((byToken.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual(['inj-1']);
    for (const payload of [...SQL, ...FHIRPATH]) {
      const value = encodeURIComponent(payload);
      // Matched as text: no one carries these values except where stored on purpose.
      const literal = await http(server, 'GET', `Patient?name=${value}&_id=inj-2`);
      expect((literal.body as Bundle).entry ?? []).toEqual([]);
      const answers = [
        await http(server, 'GET', `Patient?name=${value}`),
        await http(server, 'GET', `Patient?name:contains=${value}`),
        await http(server, 'GET', `Patient?_id=${value}`),
        await http(server, 'GET', `Patient?birthdate=${value}`),
        await http(server, 'GET', `Patient?_sort=${value}`),
        await http(server, 'GET', `Patient?_include=${value}`),
        await http(server, 'GET', `Patient?${value}=x`),
        await http(server, 'GET', `Patient/${value}`),
        await http(server, 'GET', `Patient/${value}/_history`),
        await http(server, 'GET', `CarePlan?subject=Patient/${value}`),
        await http(server, 'GET', `Patient?_has:Observation:subject:code=${value}`),
        await http(server, 'GET', `Patient?_elements=${value}`),
      ];
      for (const answer of answers) {
        expect(answer.status, `${payload}: ${answer.text.slice(0, 200)}`).toBeLessThan(500);
        expect(answer.text).not.toMatch(/syntax error|unterminated|relation "|column "/i);
      }
    }
    expect(await counts()).toEqual(before);
  });

  test('a document whose fields carry SQL is stored as text and read back unchanged', async () => {
    const before = await counts();
    const created = await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: SQL[2], given: [FHIRPATH[1]] }], address: [{ city: SQL[4] }] } });
    expect(created.status).toBe(201);
    const read = await http(server, 'GET', `Patient/${created.body.id}`);
    expect(read.body.name[0]).toEqual({ family: SQL[2], given: [FHIRPATH[1]] });
    expect(read.body.address[0].city).toBe(SQL[4]);
    const found = await http(server, 'GET', `Patient?address-city=${encodeURIComponent(SQL[4])}`);
    expect((found.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([created.body.id]);
    // The Patient and the Provenance of its create.
    expect(await counts()).toEqual([before[0] + 2, before[1] + 2]);
  });
});
