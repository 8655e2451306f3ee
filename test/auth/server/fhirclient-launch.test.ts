import http from 'node:http';
import type { AddressInfo } from 'node:net';
import smart from 'fhirclient';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../../src/auth/server/clients.ts';
import { createLaunch } from '../../../src/auth/server/launches.ts';
import { addUser } from '../../../src/auth/server/users.ts';
import { startTestServer, type TestServer } from '../../harness.ts';
import { Browser, formAction } from './smart-client.ts';

/** fhirclient's Storage interface (its types live in a namespace the package does not export by path). */
type SmartStorage = Exclude<Parameters<typeof smart>[2], undefined | ((...args: never[]) => unknown)>;

function memoryStorage(): SmartStorage {
  const values = new Map<string, unknown>();
  return {
    get: async (key) => values.get(key),
    set: async (key, value) => {
      values.set(key, value);
      return value;
    },
    unset: async (key) => values.delete(key),
  };
}

/**
 * SMART's own client library (fhirclient, Node adapter) as the app: it reads the discovery
 * document, authorizes with PKCE, exchanges the code and reads with the token — against the
 * embedded authorization server, for a standalone and an EHR launch.
 */
describe('fhirclient launches against the embedded authorization server', () => {
  let server: TestServer;
  let app: http.Server;
  let appUrl: string;
  let clientId: string;
  const storage = memoryStorage();

  beforeAll(async () => {
    app = http.createServer((req, res) => {
      void (async () => {
        try {
          const url = new URL(req.url ?? '/', appUrl);
          if (url.pathname === '/launch') {
            const launch = url.searchParams.get('launch') ?? undefined;
            const redirect = await smart(req, res, storage).authorize({
              iss: server.url,
              clientId,
              scope: url.searchParams.get('scope') as string,
              redirectUri: `${appUrl}/callback`,
              pkceMode: 'required',
              noRedirect: true,
              ...(launch ? { launch } : {}),
            });
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ redirect }));
            return;
          }
          if (url.pathname === '/callback') {
            const client = await smart(req, res, storage).ready();
            const patient = await client.request<{ id: string }>(`Patient/${client.patient.id}`);
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ token: client.getState('tokenResponse'), patient: patient.id, user: client.getFhirUser() }));
            return;
          }
          res.statusCode = 404;
          res.end();
        } catch (err) {
          res.statusCode = 500;
          res.end(String(err));
        }
      })();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    server = await startTestServer('pglite');
    await server.client.update({ resourceType: 'Patient', id: 'fc-pat', body: { resourceType: 'Patient', id: 'fc-pat', name: [{ family: 'Clientson' }] } });
    await addUser(server.db, 'fc.person', 'Patient/fc-pat', 'fc-password-1');
    await addUser(server.db, 'fc.tcm', 'PractitionerRole/fc-tcm', 'fc-password-2');
    clientId = (await registerClient(server.db, { type: 'public', name: 'fhirclient app', redirectUris: [`${appUrl}/callback`] })).client.clientId;
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => app?.close(resolve));
  });

  /** fhirclient's authorize() as the app's /launch handler would call it; returns the URL it redirects to. */
  async function authorizeUrl(scope: string, launch?: string): Promise<string> {
    const query = new URLSearchParams({ scope, ...(launch ? { launch } : {}) });
    const answer = await fetch(`${appUrl}/launch?${query}`);
    const text = await answer.text();
    expect(answer.status, text).toBe(200);
    return (JSON.parse(text) as { redirect: string }).redirect;
  }

  async function signInAndCallback(url: string, login: string, password: string, patient?: string): Promise<{ token: Record<string, unknown>; patient: string; user: string }> {
    const browser = new Browser();
    const page = await browser.follow(url, `${appUrl}/callback`);
    const consent = await browser.follow(formAction(await page.response.text(), server.url), `${appUrl}/callback`, { form: { login, password } });
    const done = await browser.follow(formAction(await consent.response.text(), server.url), `${appUrl}/callback`, { form: { decision: 'allow', ...(patient ? { patient } : {}) } });
    const callback = await fetch(done.url);
    const text = await callback.text();
    expect(callback.status, text).toBe(200);
    return JSON.parse(text);
  }

  test('standalone launch: fhirclient gets the patient, the fhirUser and reads the patient with the token', async () => {
    const url = await authorizeUrl('launch/patient openid fhirUser patient/*.rs offline_access');
    expect(url.startsWith(`${server.url.replace(/\/fhir$/, '/auth')}/authorize?`)).toBe(true);
    const result = await signInAndCallback(url, 'fc.person', 'fc-password-1', 'fc-pat');
    expect(result.patient).toBe('fc-pat');
    expect(result.user).toBe('Patient/fc-pat');
    expect(result.token).toMatchObject({ patient: 'fc-pat', need_patient_banner: true, refresh_token: expect.any(String) });
  });

  test('EHR launch: fhirclient passes the launch id and gets the bound patient', async () => {
    const launch = await createLaunch(server.db, { patient: 'fc-pat', login: 'fc.tcm' });
    const url = await authorizeUrl('launch openid fhirUser user/*.rs', launch.id);
    const result = await signInAndCallback(url, 'fc.tcm', 'fc-password-2');
    expect(result.patient).toBe('fc-pat');
    expect(result.user).toBe('PractitionerRole/fc-tcm');
    expect(result.token).toMatchObject({ patient: 'fc-pat', need_patient_banner: false });
  });
});
