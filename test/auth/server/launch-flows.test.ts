import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../../src/auth/server/clients.ts';
import { createLaunch } from '../../../src/auth/server/launches.ts';
import { addUser } from '../../../src/auth/server/users.ts';
import { embeddedEndpoints } from '../../../src/auth/smart-configuration.ts';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../../harness.ts';
import { Browser, formAction, pkcePair, radioValues } from './smart-client.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';
const ISSUER = 'https://kanplan.test/issuer';

describe.each(testDatabases)('SMART App Launch against the embedded authorization server (%s)', (kind) => {
  let server: TestServer;
  let endpoints: ReturnType<typeof embeddedEndpoints>;
  let clientId: string;
  let secretClient: { id: string; secret: string };

  beforeAll(async () => {
    server = await startTestServer(kind);
    endpoints = embeddedEndpoints(server.url);
    for (const [id, family] of [['pat-ada', 'Lovelace'], ['pat-bo', 'Brightwater'], ['pat-cy', 'Cyan']]) {
      await server.client.update({ resourceType: 'Patient', id, body: { resourceType: 'Patient', id, name: [{ family, given: ['Test'] }] } });
    }
    await server.client.update({
      resourceType: 'RelatedPerson',
      id: 'guardian-1',
      body: { resourceType: 'RelatedPerson', id: 'guardian-1', patient: { reference: 'Patient/pat-bo' }, name: [{ family: 'Brightwater', given: ['Gil'] }] },
    });
    await addUser(server.db, 'tcm.one', 'PractitionerRole/tcm-one', 'tcm-password-1');
    await addUser(server.db, 'guardian.one', 'RelatedPerson/guardian-1', 'guardian-password-1');
    const app = await registerClient(server.db, { type: 'public', name: 'Plan Viewer Test App', redirectUris: [REDIRECT] });
    clientId = app.client.clientId;
    const confidential = await registerClient(server.db, { type: 'confidential-symmetric', name: 'Confidential Test App', redirectUris: [REDIRECT], allowedScopes: ['launch', 'openid', 'fhirUser', 'online_access', 'user/*.rs', 'patient/*.rs'] });
    secretClient = { id: confidential.client.clientId, secret: confidential.secret as string };
  });
  afterAll(async () => {
    await server?.stop();
  });

  function authorizeUrl(params: Record<string, string | undefined>): string {
    const url = new URL(endpoints.authorize);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
    return url.href;
  }

  async function signIn(browser: Browser, url: string, login: string, password: string): Promise<string> {
    const start = await browser.follow(url, REDIRECT);
    expect(start.response.status).toBe(200);
    const loginPage = await start.response.text();
    expect(loginPage).toContain('name="login"');
    const afterLogin = await browser.follow(formAction(loginPage, server.url), REDIRECT, { form: { login, password } });
    expect(afterLogin.response.status).toBe(200);
    return afterLogin.response.text();
  }

  async function token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
    const response = await fetch(endpoints.token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  /** The standalone launch as a guardian up to the redirect with a code. */
  async function standaloneCode(scope: string, pkce = pkcePair()): Promise<{ code: string; verifier: string; state: string }> {
    const browser = new Browser();
    const state = `state-${Math.random()}`;
    const consent = await signIn(browser, authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope, state, aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' }), 'guardian.one', 'guardian-password-1');
    expect(radioValues(consent, 'patient')).toEqual(['pat-bo']);
    const done = await browser.follow(formAction(consent, server.url), REDIRECT, { form: { decision: 'allow', patient: 'pat-bo' } });
    const callback = new URL(done.url);
    expect(callback.searchParams.get('state')).toBe(state);
    return { code: callback.searchParams.get('code') as string, verifier: pkce.verifier, state };
  }

  test('standalone launch: login, patient picker (a guardian sees only their patient), code, token response with SMART context and no-store', async () => {
    const { code, verifier } = await standaloneCode('launch/patient openid fhirUser patient/*.rs offline_access');
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect(res.headers.get('pragma')).toContain('no-cache');
    expect(res.body).toMatchObject({ token_type: 'Bearer', patient: 'pat-bo', need_patient_banner: true });
    expect(res.body.expires_in).toBeLessThanOrEqual(3600);
    expect(res.body.scope.split(' ').sort()).toEqual(['fhirUser', 'launch/patient', 'offline_access', 'openid', 'patient/*.rs']);
    expect(typeof res.body.refresh_token).toBe('string');
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ iss: ISSUER, aud: ISSUER, client_id: clientId, sub: 'guardian.one', patient: 'pat-bo', fhirUser: 'RelatedPerson/guardian-1' });
    // The id_token is RS256, verifiable with the published JWKS, and names the fhirUser.
    const jwks = createRemoteJWKSet(new URL(endpoints.jwks));
    const idToken = await jwtVerify(res.body.id_token, jwks, { issuer: ISSUER, audience: clientId });
    expect(idToken.protectedHeader.alg).toBe('RS256');
    expect(idToken.payload.fhirUser).toBe(`${server.url}/RelatedPerson/guardian-1`);
    // The FHIR API trusts the token and confines it to the chosen patient.
    const read = await http({ url: server.url, token: res.body.access_token }, 'GET', 'Patient/pat-bo');
    expect(read.status).toBe(200);
    const other = await http({ url: server.url, token: res.body.access_token }, 'GET', 'Patient/pat-ada');
    expect([403, 404]).toContain(other.status);
  });

  test('a practitioner gets every patient in the picker, filtered by name; a patient they pick ends up in the token', async () => {
    const browser = new Browser();
    const pkce = pkcePair();
    const consent = await signIn(browser, authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'launch/patient patient/*.rs', state: 's1', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' }), 'tcm.one', 'tcm-password-1');
    expect(radioValues(consent, 'patient').sort()).toEqual(['pat-ada', 'pat-bo', 'pat-cy']);
    const filterAction = /<form method="get" action="([^"]+)"/.exec(consent)?.[1] as string;
    const filtered = await (await browser.request(`${new URL(filterAction, server.url).href}?name=Lovelace`)).text();
    expect(radioValues(filtered, 'patient')).toEqual(['pat-ada']);
    const done = await browser.follow(formAction(filtered, server.url), REDIRECT, { form: { decision: 'allow', patient: 'pat-cy' } });
    const code = new URL(done.url).searchParams.get('code') as string;
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: pkce.verifier });
    expect(res.body.patient).toBe('pat-cy');
    expect(res.body.refresh_token).toBeUndefined();
  });

  test('a guardian cannot pick a patient that is not theirs by posting its id', async () => {
    const browser = new Browser();
    const pkce = pkcePair();
    const consent = await signIn(browser, authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'launch/patient patient/*.rs', state: 's2', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' }), 'guardian.one', 'guardian-password-1');
    const refused = await browser.follow(formAction(consent, server.url), REDIRECT, { form: { decision: 'allow', patient: 'pat-ada' } });
    expect(refused.response.status).toBe(400);
    expect(await refused.response.text()).toContain('You may not open that patient');
  });

  test('the authorization request may be POSTed as a form (authorize-post)', async () => {
    const pkce = pkcePair();
    const browser = new Browser();
    const start = await browser.follow(endpoints.authorize, REDIRECT, {
      form: { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'launch/patient patient/*.rs offline_access', state: 'posted', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' },
    });
    expect(start.response.status).toBe(200);
    expect(await start.response.text()).toContain('name="password"');
  });

  test('browser apps at a registered redirect URI origin may call the token endpoint and the FHIR API (CORS); other origins may not', async () => {
    const preflight = (url: string, origin: string) =>
      fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    const allowed = await preflight(endpoints.token, 'http://127.0.0.1:9');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:9');
    expect((await preflight(`${server.url}/Patient`, 'http://127.0.0.1:9')).headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:9');
    const other = await preflight(endpoints.token, 'https://unknown-app.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a wrong password shows the login page again with a message', async () => {
    const browser = new Browser();
    const pkce = pkcePair();
    const start = await browser.follow(authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'patient/*.rs launch/patient', state: 's3', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' }), REDIRECT);
    const page = await browser.request(formAction(await start.response.text(), server.url), { form: { login: 'guardian.one', password: 'wrong-password' } });
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('not right');
  });

  test('EHR launch: the launch id binds patient and encounter; a confidential client authenticates with its secret; need_patient_banner is false', async () => {
    const launch = await createLaunch(server.db, { patient: 'pat-ada', encounter: 'enc-1', login: 'tcm.one' });
    const browser = new Browser();
    const pkce = pkcePair();
    const consent = await signIn(browser, authorizeUrl({ response_type: 'code', client_id: secretClient.id, redirect_uri: REDIRECT, scope: 'launch openid fhirUser user/*.rs online_access', state: 'ehr', aud: server.url, launch: launch.id, code_challenge: pkce.challenge, code_challenge_method: 'S256' }), 'tcm.one', 'tcm-password-1');
    expect(radioValues(consent, 'patient')).toEqual([]);
    const done = await browser.follow(formAction(consent, server.url), REDIRECT, { form: { decision: 'allow' } });
    const code = new URL(done.url).searchParams.get('code') as string;
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(secretClient.id)}:${encodeURIComponent(secretClient.secret)}`).toString('base64')}`;
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce.verifier }, { authorization: basic });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ patient: 'pat-ada', encounter: 'enc-1', need_patient_banner: false });
    expect(typeof res.body.refresh_token).toBe('string');
    expect(decodeJwt(res.body.access_token)).toMatchObject({ patient: 'pat-ada', encounter: 'enc-1', fhirUser: 'PractitionerRole/tcm-one' });
    // A protected FHIR read with the issued token succeeds: the resource server trusts it.
    const read = await http({ url: server.url, token: res.body.access_token }, 'GET', 'Patient/pat-ada');
    expect(read.status).toBe(200);
  });

  test('an EHR creates a launch through POST /auth/launch with a user or system token; a patient token or none is refused', async () => {
    const post = (authorization: string | undefined, body: object) =>
      fetch(endpoints.launch, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body) });
    const created = await post(`Bearer ${server.token}`, { patient: 'pat-ada', encounter: 'enc-9', user: 'tcm.one' });
    expect(created.status).toBe(201);
    const launch = await created.json();
    expect(launch).toMatchObject({ patient: 'pat-ada', encounter: 'enc-9', iss: server.url, launch: expect.any(String) });
    expect((await post(undefined, { patient: 'pat-ada' })).status).toBe(401);
    const patientToken = await issueTestToken(server, 'patient/*.rs');
    expect((await post(`Bearer ${patientToken}`, { patient: 'pat-ada' })).status).toBe(403);
    const missing = await post(`Bearer ${server.token}`, {});
    expect(missing.status).toBe(400);
    expect((await missing.json()).error).toBe('invalid_request');
  });

  test('an EHR launch made for another user is refused after sign-in', async () => {
    const launch = await createLaunch(server.db, { patient: 'pat-ada', login: 'tcm.one' });
    const browser = new Browser();
    const pkce = pkcePair();
    const consent = await signIn(browser, authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'launch patient/*.rs', state: 'x', aud: server.url, launch: launch.id, code_challenge: pkce.challenge, code_challenge_method: 'S256' }), 'guardian.one', 'guardian-password-1');
    const done = await browser.follow(formAction(consent, server.url), REDIRECT, { form: { decision: 'allow' } });
    expect(new URL(done.url).searchParams.get('error')).toBe('access_denied');
  });

  test('refresh may narrow the scopes, never widen them; introspection and revocation work', async () => {
    const { code, verifier } = await standaloneCode('launch/patient patient/*.rs offline_access');
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier });
    const narrowed = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: clientId, scope: 'launch/patient patient/*.rs' });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.scope).toBe('launch/patient patient/*.rs');
    expect(narrowed.body.patient).toBe('pat-bo');
    const refresh = narrowed.body.refresh_token ?? first.body.refresh_token;
    const widened = await token({ grant_type: 'refresh_token', refresh_token: refresh, client_id: clientId, scope: 'patient/*.cruds' });
    expect(widened.status).toBe(400);
    expect(widened.body.error).toBe('invalid_scope');

    const introspect = async (value: string) =>
      (await fetch(endpoints.introspect, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${server.token}` }, body: new URLSearchParams({ token: value }) })).json();
    const anonymous = await fetch(endpoints.introspect, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: narrowed.body.access_token }) });
    expect(anonymous.status).toBe(401);
    expect(await introspect(narrowed.body.access_token)).toMatchObject({ active: true, scope: 'launch/patient patient/*.rs', patient: 'pat-bo', fhirUser: `${server.url}/RelatedPerson/guardian-1`, client_id: clientId, exp: expect.any(Number) });
    expect((await http({ url: server.url, token: narrowed.body.access_token }, 'GET', 'Patient/pat-bo')).status).toBe(200);
    const revoke = await fetch(endpoints.revoke, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: narrowed.body.access_token, client_id: clientId }) });
    expect(revoke.status).toBe(200);
    expect(await introspect(narrowed.body.access_token)).toEqual({ active: false });
    // The FHIR API stops accepting the revoked access token at once (this process revoked it).
    const afterRevoke = await fetch(`${server.url}/Patient/pat-bo`, { headers: { authorization: `Bearer ${narrowed.body.access_token}` } });
    expect(afterRevoke.status).toBe(401);
    expect(afterRevoke.headers.get('www-authenticate')).toMatch(/error="invalid_token".*revoked/);
    // Revoking the refresh token ends the grant: it can no longer be used.
    const revokeRefresh = await fetch(endpoints.revoke, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: refresh, client_id: clientId }) });
    expect(revokeRefresh.status).toBe(200);
    const after = await token({ grant_type: 'refresh_token', refresh_token: refresh, client_id: clientId });
    expect(after.body.error).toBe('invalid_grant');
  });
});
