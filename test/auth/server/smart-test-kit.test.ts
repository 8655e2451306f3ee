import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../../src/auth/server/clients.ts';
import { createLaunch } from '../../../src/auth/server/launches.ts';
import { addUser } from '../../../src/auth/server/users.ts';
import { embeddedEndpoints } from '../../../src/auth/smart-configuration.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../../harness.ts';
import { Browser, formAction, pkcePair } from './smart-client.ts';

/**
 * The server-side checks of the public SMART App Launch test kit (Inferno, STU2.2 suite:
 * https://github.com/inferno-framework/smart-app-launch-test-kit) that the other files here do not
 * already make in the same form, each named by the kit's test id. docs/smart-test-kit.md maps
 * every applicable check of the kit to the test that makes it.
 */
const REDIRECT = 'http://127.0.0.1:9/callback';
const APP_ORIGIN = 'http://127.0.0.1:9';

interface TokenResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, any>;
}

describe.each(testDatabases)('SMART App Launch test kit checks (%s)', (kind) => {
  let server: TestServer;
  let endpoints: ReturnType<typeof embeddedEndpoints>;
  let clientId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    endpoints = embeddedEndpoints(server.url);
    await server.client.update({ resourceType: 'Patient', id: 'kit-pat-1', body: { resourceType: 'Patient', id: 'kit-pat-1', name: [{ family: 'Kitsample', given: ['Rowan'] }] } });
    await server.client.update({
      resourceType: 'RelatedPerson',
      id: 'kit-guardian-1',
      body: { resourceType: 'RelatedPerson', id: 'kit-guardian-1', patient: { reference: 'Patient/kit-pat-1' }, name: [{ family: 'Kitsample', given: ['Avery'] }] },
    });
    await server.client.update({ resourceType: 'Encounter', id: 'kit-enc-1', body: { resourceType: 'Encounter', id: 'kit-enc-1', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }, subject: { reference: 'Patient/kit-pat-1' } } });
    await addUser(server.db, 'kit.guardian', 'RelatedPerson/kit-guardian-1', 'kit-guardian-password');
    clientId = (await registerClient(server.db, { type: 'public', name: 'Test Kit App', redirectUris: [REDIRECT] })).client.clientId;
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<TokenResponse> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  /** A whole launch as the guardian (standalone, or EHR with a launch id) up to the token response. */
  async function launch(scope: string, launchId?: string): Promise<TokenResponse> {
    const browser = new Browser();
    const pkce = pkcePair();
    const url = new URL(endpoints.authorize);
    const params = { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope, state: 'kit-state', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256', ...(launchId ? { launch: launchId } : {}) };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const start = await browser.follow(url.href, REDIRECT);
    const loginPage = await start.response.text();
    const consent = await browser.follow(formAction(loginPage, server.url), REDIRECT, { form: { login: 'kit.guardian', password: 'kit-guardian-password' } });
    const consentPage = await consent.response.text();
    const done = await browser.follow(formAction(consentPage, server.url), REDIRECT, { form: { decision: 'allow', ...(launchId ? {} : { patient: 'kit-pat-1' }) } });
    const callback = new URL(done.url);
    // smart_app_redirect / smart_code_received: the code comes back with the app's own state.
    expect(callback.searchParams.get('error')).toBeNull();
    expect(callback.searchParams.get('state')).toBe('kit-state');
    const code = callback.searchParams.get('code');
    expect(code).toBeTruthy();
    return postForm(endpoints.token, { grant_type: 'authorization_code', code: code as string, redirect_uri: REDIRECT, client_id: clientId, code_verifier: pkce.verifier }, { origin: APP_ORIGIN });
  }

  async function introspect(token: string): Promise<Record<string, any>> {
    return (await postForm(endpoints.introspect, { token }, { authorization: `Bearer ${server.token}` })).body;
  }

  test('well_known_capabilities_stu2: required fields of the right types, authorization_code, S256 without plain, issuer and jwks_uri with sso-openid-connect', async () => {
    const response = await fetch(`${server.url}/.well-known/smart-configuration`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const config = await response.json();
    for (const key of ['authorization_endpoint', 'token_endpoint']) expect(typeof config[key]).toBe('string');
    for (const key of ['capabilities', 'grant_types_supported', 'code_challenge_methods_supported', 'scopes_supported', 'response_types_supported', 'token_endpoint_auth_methods_supported']) {
      expect(Array.isArray(config[key]) && config[key].length > 0, key).toBe(true);
    }
    expect(config.capabilities.every((capability: unknown) => typeof capability === 'string')).toBe(true);
    expect(config.grant_types_supported).toContain('authorization_code');
    expect(config.code_challenge_methods_supported).toEqual(['S256']);
    expect(config.capabilities).toContain('sso-openid-connect');
    expect(typeof config.issuer).toBe('string');
    expect(typeof config.jwks_uri).toBe('string');
  });

  test('the CapabilityStatement oauth-uris name the same endpoints as the well-known document', async () => {
    const config = await (await fetch(`${server.url}/.well-known/smart-configuration`)).json();
    const metadata = await (await fetch(`${server.url}/metadata`)).json();
    const uris = metadata.rest[0].security.extension.find((e: { url: string }) => e.url.endsWith('/oauth-uris'));
    const uri = (name: string) => uris.extension.find((e: { url: string }) => e.url === name)?.valueUri;
    expect(uri('authorize')).toBe(config.authorization_endpoint);
    expect(uri('token')).toBe(config.token_endpoint);
  });

  test('smart_openid_retrieve_configuration and required fields: the issuer\'s OpenID configuration, RS256 among id_token algorithms', async () => {
    const config = await (await fetch(`${server.url}/.well-known/smart-configuration`)).json();
    // The test server's issuer is a configured name (AUTH_ISSUER) on no host; the embedded server
    // publishes the issuer's document under its own mount point too (and at {issuer} when the
    // issuer is the FHIR base, the default).
    const openid = await (await fetch(`${endpoints.base}/.well-known/openid-configuration`)).json();
    for (const key of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri']) expect(typeof openid[key], key).toBe('string');
    expect(openid.issuer).toBe(config.issuer);
    expect(openid.response_types_supported).toContain('code');
    expect(openid.subject_types_supported.length).toBeGreaterThan(0);
    expect(openid.id_token_signing_alg_values_supported).toContain('RS256');
    const jwks = await (await fetch(openid.jwks_uri)).json();
    expect(jwks.keys.some((key: { kty: string }) => key.kty === 'RSA')).toBe(true);
    expect(jwks.keys.every((key: Record<string, unknown>) => key.d === undefined && key.p === undefined)).toBe(true);
  });

  test('standalone launch: smart_token_exchange, token response body and headers, id_token header and payload, fhirUser retrievable, CORS on the token endpoint', async () => {
    const res = await launch('launch/patient openid fhirUser patient/*.rs offline_access');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect(res.headers.get('pragma')).toContain('no-cache');
    for (const key of ['access_token', 'token_type', 'scope']) expect(typeof res.body[key], key).toBe('string');
    expect(typeof res.body.expires_in).toBe('number');
    expect(res.body.token_type.toLowerCase()).toBe('bearer');
    expect(res.body.scope.split(' ').sort()).toEqual(['fhirUser', 'launch/patient', 'offline_access', 'openid', 'patient/*.rs']);
    expect(res.body.patient).toBe('kit-pat-1');

    // smart_openid_token_header and smart_openid_token_payload.
    const header = decodeProtectedHeader(res.body.id_token);
    expect(header.alg).toBe('RS256');
    const jwks = await (await fetch(endpoints.jwks)).json();
    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toContain(header.kid);
    const { payload } = await jwtVerify(res.body.id_token, createRemoteJWKSet(new URL(endpoints.jwks)), { audience: clientId });
    for (const claim of ['iss', 'sub', 'exp', 'iat']) expect(payload[claim], claim).toBeDefined();

    // smart_openid_fhir_user_claim: the fhirUser resource can be read with the access token, cross-origin too.
    const fhirUser = String(payload.fhirUser);
    expect(fhirUser).toBe(`${server.url}/RelatedPerson/kit-guardian-1`);
    const user = await fetch(fhirUser, { headers: { authorization: `Bearer ${res.body.access_token}`, accept: 'application/fhir+json', origin: APP_ORIGIN } });
    expect(user.status).toBe(200);
    expect(user.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect((await user.json()).resourceType).toBe('RelatedPerson');

    // The patient in context can be read.
    expect((await http({ url: server.url, token: res.body.access_token }, 'GET', 'Patient/kit-pat-1')).status).toBe(200);

    // Token introspection: the active token's fields agree with the token response and the id_token.
    const active = await introspect(res.body.access_token);
    expect(active.active).toBe(true);
    expect(active.client_id).toBe(clientId);
    expect(active.scope.split(' ').sort()).toEqual(res.body.scope.split(' ').sort());
    expect(active.exp).toBeGreaterThan(Math.floor(Date.now() / 1000) - 600);
    expect(active.patient).toBe('kit-pat-1');
    expect(active.iss).toBe(payload.iss);
    expect(active.sub).toBe(payload.sub);
    expect(active.fhirUser).toBe(payload.fhirUser);
    // An invalid token: active false and nothing else.
    expect(await introspect('not-a-token')).toEqual({ active: false });

    // smart_token_refresh without the optional scope: every required field, the same scopes, no-store.
    const refreshed = await postForm(endpoints.token, { grant_type: 'refresh_token', refresh_token: res.body.refresh_token, client_id: clientId });
    expect(refreshed.status).toBe(200);
    for (const key of ['access_token', 'token_type', 'scope']) expect(typeof refreshed.body[key], key).toBe('string');
    expect(typeof refreshed.body.expires_in).toBe('number');
    expect(refreshed.body.scope.split(' ').sort()).toEqual(res.body.scope.split(' ').sort());
    expect(refreshed.headers.get('cache-control')).toContain('no-store');
    expect(refreshed.headers.get('pragma')).toContain('no-cache');
    expect(decodeJwt(refreshed.body.access_token).patient).toBe('kit-pat-1');
  });

  test('EHR launch: the launch id\'s patient and encounter reach the token response and its introspection', async () => {
    const bound = await createLaunch(server.db, { patient: 'kit-pat-1', encounter: 'kit-enc-1', login: 'kit.guardian' });
    const res = await launch('launch openid fhirUser patient/*.rs', bound.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ patient: 'kit-pat-1', encounter: 'kit-enc-1', token_type: 'Bearer' });
    const active = await introspect(res.body.access_token);
    expect(active).toMatchObject({ active: true, patient: 'kit-pat-1', encounter: 'kit-enc-1', client_id: clientId });
    expect((await http({ url: server.url, token: res.body.access_token }, 'GET', 'Encounter/kit-enc-1')).status).toBe(200);
  });
});
