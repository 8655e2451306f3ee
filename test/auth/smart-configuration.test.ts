import type { CapabilityStatement } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TEST_KEY_FILE, http, startTestServer, type TestServer } from '../harness.ts';

const ISSUER = 'https://kanplan.test/issuer';

function security(body: CapabilityStatement): NonNullable<NonNullable<CapabilityStatement['rest']>[number]['security']> {
  return body.rest?.[0].security ?? {};
}

describe('SMART discovery without an authorization server (local key)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('.well-known/smart-configuration is 404 naming the settings that would provide it, with no token needed', async () => {
    const res = await http(server, 'GET', '.well-known/smart-configuration', { headers: { authorization: '' } });
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics).toContain('AUTH_TOKEN_URL');
  });

  test('the CapabilityStatement claims OAuth bearer tokens, not SMART-on-FHIR, and no oauth-uris', async () => {
    const res = await http(server, 'GET', 'metadata', { headers: { authorization: '' } });
    const sec = security(res.body as CapabilityStatement);
    expect(sec.service?.[0].coding?.[0].code).toBe('OAuth');
    expect(sec.extension).toBeUndefined();
    expect(sec.description).toContain('kanplan token');
  });
});

describe('SMART discovery with an external authorization server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', {
      auth: {
        mode: 'jwt',
        keyFile: TEST_KEY_FILE,
        issuer: ISSUER,
        audience: ISSUER,
        tokenUrl: 'https://auth.kanplan.test/token',
        authorizeUrl: 'https://auth.kanplan.test/authorize',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('.well-known/smart-configuration is public JSON with the endpoints, grants and capabilities', async () => {
    const res = await http(server, 'GET', '.well-known/smart-configuration', { headers: { authorization: '' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({
      token_endpoint: 'https://auth.kanplan.test/token',
      authorization_endpoint: 'https://auth.kanplan.test/authorize',
      grant_types_supported: ['authorization_code', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(res.body.capabilities).toEqual(expect.arrayContaining(['launch-standalone', 'client-confidential-asymmetric', 'permission-v2']));
  });

  test('POST is 405 with Allow: GET', async () => {
    const res = await http(server, 'POST', '.well-known/smart-configuration', { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  test('the CapabilityStatement claims SMART-on-FHIR with the oauth-uris extension', async () => {
    const res = await http(server, 'GET', 'metadata', { headers: { authorization: '' } });
    const sec = security(res.body as CapabilityStatement);
    expect(sec.service?.[0].coding?.[0].code).toBe('SMART-on-FHIR');
    expect(sec.extension?.[0]).toEqual({
      url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
      extension: [
        { url: 'token', valueUri: 'https://auth.kanplan.test/token' },
        { url: 'authorize', valueUri: 'https://auth.kanplan.test/authorize' },
      ],
    });
  });
});
