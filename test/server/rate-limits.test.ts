import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../src/auth/server/clients.ts';
import { addUser } from '../../src/auth/server/users.ts';
import { embeddedEndpoints } from '../../src/auth/smart-configuration.ts';
import { startTestServer, type TestServer } from '../harness.ts';
import { Browser, formAction, pkcePair } from '../auth/server/smart-client.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';

/** The embedded authorization server with small limits: 3 token requests and 2 sign-in attempts a minute. */
describe('rate limits of the token endpoint and the sign-in page', () => {
  let server: TestServer;
  let endpoints: ReturnType<typeof embeddedEndpoints>;
  let clientId: string;

  beforeAll(async () => {
    server = await startTestServer('pglite', {
      rateLimits: { token: { limit: 3, windowMs: 60_000 }, login: { limit: 2, windowMs: 60_000 }, trustProxyHops: 0 },
    });
    endpoints = embeddedEndpoints(server.url);
    await addUser(server.db, 'rate.tester', 'PractitionerRole/rate-tester', 'rate-password-1');
    clientId = (await registerClient(server.db, { type: 'public', name: 'Rate Limit Test App', redirectUris: [REDIRECT] })).client.clientId;
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function tokenRequest(form: Record<string, string>): Promise<Response> {
    return fetch(endpoints.token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  }

  test('the fourth token request of a client from one address in the window is 429 with Retry-After and an OAuth error; another client is not held up', async () => {
    const form = { grant_type: 'authorization_code', client_id: clientId, code: 'not-a-code', redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43) };
    for (let attempt = 0; attempt < 3; attempt++) {
      const refused = await tokenRequest(form);
      // Reached oidc-provider, which parsed the already-read form: an invalid code, not a malformed request.
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toBe('invalid_grant');
    }
    const limited = await tokenRequest(form);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(limited.headers.get('cache-control')).toBe('no-store');
    const body = (await limited.json()) as { error: string; error_description: string };
    expect(body.error).toBe('temporarily_unavailable');
    expect(body.error_description).toMatch(/retry after \d+ seconds/);
    const other = await tokenRequest({ ...form, client_id: 'another-client' });
    expect(other.status).toBe(401);
  });

  test('the third sign-in attempt for one login name is 429 with the login page saying how long to wait; another login name still gets its answer', async () => {
    const browser = new Browser();
    const pkce = pkcePair();
    const url = new URL(endpoints.authorize);
    const params = { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid fhirUser user/*.rs', state: 'rate', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const start = await browser.follow(url.href, REDIRECT);
    const action = formAction(await start.response.text(), server.url);
    for (let attempt = 0; attempt < 2; attempt++) {
      const wrong = await browser.request(action, { form: { login: 'rate.tester', password: 'wrong-password' } });
      expect(wrong.status).toBe(401);
    }
    const limited = await browser.request(action, { form: { login: 'Rate.Tester', password: 'rate-password-1' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/);
    expect(limited.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await limited.text();
    expect(page).toMatch(/Too many sign-in attempts for this login name\. Wait \d+ seconds, then try again\./);
    expect(page).toContain('name="password"');
    const other = await browser.request(action, { form: { login: 'someone.else', password: 'wrong-password' } });
    expect(other.status).toBe(401);
  });
});
