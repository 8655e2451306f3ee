import type { CapabilityStatement } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TEST_KEY_FILE, http, startTestServer, type TestServer } from '../harness.ts';

const ISSUER = 'https://kanplan.test/issuer';

function security(body: CapabilityStatement): NonNullable<NonNullable<CapabilityStatement['rest']>[number]['security']> {
  return body.rest?.[0].security ?? {};
}

describe('SMART discovery of the embedded authorization server (the default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('.well-known/smart-configuration is public JSON with every field SMART 2.2 requires or recommends', async () => {
    const res = await http(server, 'GET', '.well-known/smart-configuration', { headers: { authorization: '' } });
    expect(res.status).toBe(200);
    const auth = server.url.replace(/\/fhir$/, '/auth');
    expect(res.body).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${auth}/jwks`,
      authorization_endpoint: `${auth}/authorize`,
      token_endpoint: `${auth}/token`,
      introspection_endpoint: `${auth}/introspect`,
      revocation_endpoint: `${auth}/revoke`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      grant_types_supported: expect.arrayContaining(['authorization_code', 'client_credentials']),
      token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_basic', 'private_key_jwt']),
      token_endpoint_auth_signing_alg_values_supported: expect.arrayContaining(['RS384', 'ES384']),
      scopes_supported: expect.arrayContaining(['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'patient/*.rs', 'system/*.rs']),
    });
    expect(res.body.capabilities).toEqual(
      expect.arrayContaining([
        'launch-ehr', 'launch-standalone', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric',
        'context-ehr-patient', 'context-standalone-patient', 'context-banner', 'context-style', 'sso-openid-connect',
        'permission-offline', 'permission-online', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2', 'authorize-post',
      ]),
    );
  });

  test('the endpoints it names answer: jwks has public keys only, OpenID discovery names the same endpoints', async () => {
    const auth = server.url.replace(/\/fhir$/, '/auth');
    const jwks = (await (await fetch(`${auth}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
    const openid = (await (await fetch(`${auth}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(openid).toMatchObject({ issuer: ISSUER, token_endpoint: `${auth}/token`, authorization_endpoint: `${auth}/authorize`, jwks_uri: `${auth}/jwks` });
    expect(openid.id_token_signing_alg_values_supported).toContain('RS256');
  });

  test('the CapabilityStatement claims SMART-on-FHIR with the oauth-uris of the embedded server', async () => {
    const res = await http(server, 'GET', 'metadata', { headers: { authorization: '' } });
    const sec = security(res.body as CapabilityStatement);
    const auth = server.url.replace(/\/fhir$/, '/auth');
    expect(sec.service?.[0].coding?.[0].code).toBe('SMART-on-FHIR');
    expect(sec.extension?.[0].extension).toEqual([
      { url: 'authorize', valueUri: `${auth}/authorize` },
      { url: 'token', valueUri: `${auth}/token` },
      { url: 'revoke', valueUri: `${auth}/revoke` },
      { url: 'introspect', valueUri: `${auth}/introspect` },
    ]);
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
        { url: 'authorize', valueUri: 'https://auth.kanplan.test/authorize' },
        { url: 'token', valueUri: 'https://auth.kanplan.test/token' },
      ],
    });
  });
});
