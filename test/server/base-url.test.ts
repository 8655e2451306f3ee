import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, startTestServer, type TestServer } from '../harness.ts';

describe('BASE_URL with its own path', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { baseUrl: 'http://127.0.0.1:0/kansas/r4' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('mounts the API at that path and uses it in Location, fullUrl and paging links', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/kansas\/r4$/);
    const cs = (await server.client.capabilityStatement()) as { implementation: { url: string } };
    expect(cs.implementation.url).toBe(server.url);
    const created = await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${server.url}/Patient/${created.body.id}/_history/1`);
    const history = await http(server, 'GET', `Patient/${created.body.id}/_history`);
    expect(history.body.entry[0].fullUrl).toBe(`${server.url}/Patient/${created.body.id}`);
    const elsewhere = await fetch(server.url.replace('/kansas/r4', '/fhir/metadata'));
    expect(elsewhere.status).toBe(404);
    expect((await elsewhere.json()).issue[0].diagnostics).toContain('the FHIR API is at /kansas/r4');
  });
});
