import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../../src/auth/server/clients.ts';
import { addUser } from '../../../src/auth/server/users.ts';
import { embeddedEndpoints } from '../../../src/auth/smart-configuration.ts';
import { loadConfig } from '../../../src/config.ts';
import { startServer, type RunningServer } from '../../../src/server/server.ts';
import type { Database } from '../../../src/store/database.ts';
import { TEST_KEY_FILE, issueTestToken, openTestDatabase, testDatabases } from '../../harness.ts';
import { Browser, formAction, pkcePair } from './smart-client.ts';

const ISSUER = 'https://kanplan.test/issuer';
const REDIRECT = 'http://127.0.0.1:9/shared';

describe.each(testDatabases)('two servers sharing one database hand a sign-in from one to the other (%s)', (kind) => {
  let db: Database;
  let first: RunningServer;
  let second: RunningServer;
  let clientId: string;

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    const config = loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: ISSUER, audience: ISSUER } });
    first = await startServer(config, { db, logger: pino({ level: 'silent' }) });
    second = await startServer(config, { db, logger: pino({ level: 'silent' }) });
    await addUser(db, 'shared.user', 'PractitionerRole/shared-role', 'shared-password-1');
    clientId = (await registerClient(db, { type: 'public', name: 'Shared App', redirectUris: [REDIRECT] })).client.clientId;
    const token = await issueTestToken(first, 'system/*.cruds');
    await fetch(`${first.url}/Patient/pat-shared`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id: 'pat-shared' }) });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await db?.close();
  });

  test('authorize and sign in on one, consent and exchange the code on the other', async () => {
    const pkce = pkcePair();
    const url = new URL(embeddedEndpoints(first.url).authorize);
    for (const [name, value] of Object.entries({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'launch/patient patient/*.rs offline_access', state: 'two', aud: first.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' })) url.searchParams.set(name, value);
    const browser = new Browser();
    const login = await browser.follow(url.href, REDIRECT);
    const consent = await browser.follow(formAction(await login.response.text(), first.url), REDIRECT, { form: { login: 'shared.user', password: 'shared-password-1' } });
    // The consent form is posted to the other server (same paths, other port).
    const action = formAction(await consent.response.text(), first.url).replace(new URL(first.url).origin, new URL(second.url).origin);
    const secondOrigin = new URL(second.url).origin;
    const done = await browser.follow(action, REDIRECT, { form: { decision: 'allow', patient: 'pat-shared' } });
    // The resume redirect names the first server's origin; follow it on the second.
    const code = new URL(done.url.startsWith(REDIRECT) ? done.url : REDIRECT).searchParams.get('code');
    expect(code, `landed at ${done.url} (${secondOrigin})`).toBeTruthy();
    const response = await fetch(embeddedEndpoints(second.url).token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code as string, redirect_uri: REDIRECT, client_id: clientId, code_verifier: pkce.verifier }),
    });
    const body = await response.json();
    expect(response.status).toBe(200);
    expect(body.patient).toBe('pat-shared');
    // And the refresh token works on the first.
    const refreshed = await fetch(embeddedEndpoints(first.url).token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: clientId }),
    });
    expect(refreshed.status).toBe(200);
  });
});
