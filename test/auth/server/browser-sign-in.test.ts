import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../../src/auth/server/clients.ts';
import { addUser } from '../../../src/auth/server/users.ts';
import { embeddedEndpoints } from '../../../src/auth/smart-configuration.ts';
import { launchTestBrowser, type TestBrowser } from '../../browser.ts';
import { startTestServer, type TestServer } from '../../harness.ts';
import { pkcePair } from './smart-client.ts';

/**
 * The sign-in pages in a real browser (headless Chromium) over plain http, as on a local install:
 * the session and interaction cookies must survive the redirects, the forms work without script,
 * and a POSTed authorization request is followed. The app page just shows what it was given.
 */
describe('signing in with Chromium', () => {
  let server: TestServer;
  let app: http.Server;
  let appUrl: string;
  let browser: TestBrowser;
  let clientId: string;

  beforeAll(async () => {
    app = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>app</title><p id="query">${new URL(req.url ?? '/', 'http://x').search.replace(/[<>&"]/g, '')}</p>`));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    server = await startTestServer('pglite');
    await server.client.update({ resourceType: 'Patient', id: 'br-a', body: { resourceType: 'Patient', id: 'br-a', name: [{ family: 'Browserton', given: ['Ada'] }] } });
    await server.client.update({ resourceType: 'Patient', id: 'br-b', body: { resourceType: 'Patient', id: 'br-b', name: [{ family: 'Clickwell', given: ['Bo'] }] } });
    await addUser(server.db, 'br.cc', 'PractitionerRole/br-cc', 'browser-password-1');
    clientId = (await registerClient(server.db, { type: 'public', name: 'Browser Test App', redirectUris: [`${appUrl}/callback`] })).client.clientId;
    browser = await launchTestBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => app?.close(resolve));
  });

  test('login page, patient picker with a name filter, Allow: the app receives a code and the state', async () => {
    const pkce = pkcePair();
    const url = new URL(embeddedEndpoints(server.url).authorize);
    const params = { response_type: 'code', client_id: clientId, redirect_uri: `${appUrl}/callback`, scope: 'launch/patient openid fhirUser patient/*.rs offline_access', state: 'chromium-state', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const page = await browser.context.newPage();
    await page.goto(url.href);
    expect(await page.textContent('h1')).toContain('Sign in');
    expect(await page.textContent('main')).toContain('Browser Test App');
    await page.fill('input[name="login"]', 'br.cc');
    await page.fill('input[name="password"]', 'browser-password-1');
    await page.click('button:has-text("Sign in")');
    await page.waitForSelector('input[name="patient"]');
    await page.fill('input[name="name"]', 'Clickwell');
    await page.click('button:has-text("Search")');
    await page.waitForSelector('input[value="br-b"]');
    expect(await page.locator('input[name="patient"]').count()).toBe(1);
    await page.check('input[value="br-b"]');
    await page.click('button:has-text("Allow")');
    await page.waitForURL(`${appUrl}/callback?**`);
    const landed = new URL(page.url());
    expect(landed.searchParams.get('state')).toBe('chromium-state');
    const code = landed.searchParams.get('code') as string;
    const token = await fetch(embeddedEndpoints(server.url).token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${appUrl}/callback`, client_id: clientId, code_verifier: pkce.verifier }),
    });
    expect(await token.json()).toMatchObject({ patient: 'br-b', refresh_token: expect.any(String) });
    await page.close();
  });

  test('an authorization request POSTed from the app (authorize-post) reaches the consent page of the signed-in session', async () => {
    const pkce = pkcePair();
    const fields = { response_type: 'code', client_id: clientId, redirect_uri: `${appUrl}/callback`, scope: 'launch/patient patient/*.rs', state: 'posted-state', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' };
    const page = await browser.context.newPage();
    await page.goto(`${appUrl}/start`);
    await page.setContent(
      `<form method="post" action="${embeddedEndpoints(server.url).authorize}">${Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`).join('')}<button>Go</button></form>`,
    );
    await page.click('button:has-text("Go")');
    // Signed in by the previous test: straight to consent with the picker.
    await page.waitForSelector('input[value="br-a"]');
    await page.check('input[value="br-a"]');
    await page.click('button:has-text("Allow")');
    await page.waitForURL(`${appUrl}/callback?**`);
    expect(new URL(page.url()).searchParams.get('state')).toBe('posted-state');
    await page.close();
  });
});
