import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../../src/auth/server/clients.ts';
import { addUser } from '../../../src/auth/server/users.ts';
import { embeddedEndpoints } from '../../../src/auth/smart-configuration.ts';
import { startTestServer, testDatabases, type TestServer } from '../../harness.ts';
import { Browser, formAction, pkcePair } from './smart-client.ts';

const REDIRECT = 'http://127.0.0.1:9/refusals';

describe.each(testDatabases)('the authorization server fails closed (%s)', (kind) => {
  let server: TestServer;
  let endpoints: ReturnType<typeof embeddedEndpoints>;
  let clientId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    endpoints = embeddedEndpoints(server.url);
    await server.client.update({ resourceType: 'Patient', id: 'pat-r', body: { resourceType: 'Patient', id: 'pat-r', name: [{ family: 'Refusal' }] } });
    await addUser(server.db, 'person.r', 'Patient/pat-r', 'person-password-1');
    clientId = (await registerClient(server.db, { type: 'public', name: 'Refusal App', redirectUris: [REDIRECT], allowedScopes: ['launch/patient', 'openid', 'fhirUser', 'patient/Patient.rs', 'patient/Observation.rs'] })).client.clientId;
  });
  afterAll(async () => {
    await server?.stop();
  });

  function authorize(params: Record<string, string | undefined>): string {
    const url = new URL(endpoints.authorize);
    const all: Record<string, string | undefined> = { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'launch/patient patient/Patient.rs', state: 'st', aud: server.url, ...params };
    for (const [name, value] of Object.entries(all)) if (value !== undefined) url.searchParams.set(name, value);
    return url.href;
  }

  /** The error the app gets back at its redirect URI. */
  async function redirectError(url: string): Promise<URLSearchParams> {
    const { url: landed } = await new Browser().follow(url, REDIRECT);
    expect(landed.startsWith(REDIRECT), `redirected to the app, not ${landed}`).toBe(true);
    return new URL(landed).searchParams;
  }

  async function codeFor(pkce: { challenge: string }, extra: Record<string, string> = {}): Promise<string> {
    const browser = new Browser();
    const start = await browser.follow(authorize({ code_challenge: pkce.challenge, code_challenge_method: 'S256', ...extra }), REDIRECT);
    const consent = await browser.follow(formAction(await start.response.text(), server.url), REDIRECT, { form: { login: 'person.r', password: 'person-password-1' } });
    const done = await browser.follow(formAction(await consent.response.text(), server.url), REDIRECT, { form: { decision: 'allow', patient: 'pat-r' } });
    return new URL(done.url).searchParams.get('code') as string;
  }

  async function exchange(code: string, verifier: string | undefined): Promise<{ status: number; body: any }> {
    const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId };
    if (verifier !== undefined) form.code_verifier = verifier;
    const response = await fetch(endpoints.token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    return { status: response.status, body: await response.json() };
  }

  test('an authorization request without PKCE is refused', async () => {
    const error = await redirectError(authorize({}));
    expect(error.get('error')).toBe('invalid_request');
    expect(error.get('state')).toBe('st');
  });

  test('PKCE with the plain method is refused', async () => {
    const error = await redirectError(authorize({ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }));
    expect(error.get('error')).toBe('invalid_request');
  });

  test('aud missing or naming another server is refused', async () => {
    const pkce = pkcePair();
    const missing = await redirectError(authorize({ aud: undefined, code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(missing.get('error')).toBe('invalid_request');
    expect(missing.get('error_description')).toContain('aud');
    const wrong = await redirectError(authorize({ aud: 'https://other-fhir.test/fhir', code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(wrong.get('error')).toBe('invalid_request');
    expect(wrong.get('error_description')).toContain('not this FHIR server');
  });

  test('scopes beyond the client’s allowed scopes, and malformed ones, are refused', async () => {
    const pkce = pkcePair();
    const beyond = await redirectError(authorize({ scope: 'launch/patient patient/*.cruds', code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(beyond.get('error')).toBe('invalid_scope');
    const malformed = await redirectError(authorize({ scope: 'patient/Patient.xyz', code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(malformed.get('error')).toBe('invalid_scope');
  });

  test('scope launch without a launch id, or with an unknown one, is refused', async () => {
    const pkce = pkcePair();
    const scoped = await registerClient(server.db, { type: 'public', name: 'EHR App', redirectUris: [REDIRECT] });
    const noLaunch = await redirectError(authorize({ client_id: scoped.client.clientId, scope: 'launch patient/*.rs', code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(noLaunch.get('error')).toBe('invalid_request');
    const unknown = await redirectError(authorize({ client_id: scoped.client.clientId, scope: 'launch patient/*.rs', launch: 'no-such-launch', code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(unknown.get('error_description')).toContain('launch');
  });

  test('a wrong PKCE verifier, a missing verifier and a reused code are refused', async () => {
    const pkce = pkcePair();
    const code = await codeFor(pkce);
    const wrong = await exchange(code, pkcePair().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');

    const other = pkcePair();
    const secondCode = await codeFor(other);
    expect((await exchange(secondCode, undefined)).body.error).toBe('invalid_grant');

    const third = pkcePair();
    const thirdCode = await codeFor(third);
    expect((await exchange(thirdCode, third.verifier)).status).toBe(200);
    const reused = await exchange(thirdCode, third.verifier);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
  });

  test('the same code sent twice at once is exchanged once', async () => {
    const pkce = pkcePair();
    const code = await codeFor(pkce);
    const results = await Promise.all([exchange(code, pkce.verifier), exchange(code, pkce.verifier), exchange(code, pkce.verifier)]);
    expect(results.map((result) => result.status).sort()).toEqual([200, 400, 400]);
  });

  test('denying consent sends access_denied to the app', async () => {
    const pkce = pkcePair();
    const browser = new Browser();
    const start = await browser.follow(authorize({ code_challenge: pkce.challenge, code_challenge_method: 'S256' }), REDIRECT);
    const consent = await browser.follow(formAction(await start.response.text(), server.url), REDIRECT, { form: { login: 'person.r', password: 'person-password-1' } });
    const html = await consent.response.text();
    expect(html).toContain('Refusal App');
    expect(html).toContain('<html lang="en">');
    const done = await browser.follow(formAction(html, server.url), REDIRECT, { form: { decision: 'deny' } });
    expect(new URL(done.url).searchParams.get('error')).toBe('access_denied');
  });

  test('a sign-in page that is no longer open is an HTML page saying so, not a FHIR error', async () => {
    for (const path of ['/interaction/no-such-sign-in', '/interaction/no-such-sign-in?name=x']) {
      const response = await fetch(`${endpoints.base}${path}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('This sign-in is no longer open');
      expect(html).toContain('start again');
    }
    const posted = await fetch(`${endpoints.base}/interaction/no-such-sign-in/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'login=a&password=b' });
    expect(posted.status).toBe(400);
    expect(await posted.text()).toContain('This sign-in is no longer open');
  });
});
