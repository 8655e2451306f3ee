import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { embeddedEndpoints } from '../../src/auth/smart-configuration.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server/server.ts';
import { Browser, formAction, pkcePair, radioValues } from '../auth/server/smart-client.ts';
import { TEST_KEY_FILE, http, issueTestToken, openTestDatabase } from '../harness.ts';

const ISSUER = 'https://kanplan.test/issuer';

describe('demo sign-in users', () => {
  test('the first start with demo data seeds a TCM, a care coordinator, a provider, a guardian and a person, prints their passwords once, and the guardian can launch the demo app', async () => {
    const db = await openTestDatabase('pglite');
    const config = loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: true, auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: ISSUER, audience: ISSUER } });
    let printed = '';
    const stdout = { write: (text: string) => (printed += text) };
    const server = await startServer(config, { db, logger: pino({ level: 'silent' }), stdout });
    try {
      const logins = [...printed.matchAll(/^ {2}(demo\.\S+)\s+(\S+)\s+.*, (\S+)$/gm)].map(([, login, password, fhirUser]) => ({ login, password, fhirUser }));
      expect(logins.map((entry) => entry.login)).toEqual(['demo.tcm', 'demo.cc', 'demo.provider', 'demo.guardian', 'demo.person']);
      const stored = await db.query<{ password_hash: string }>('SELECT password_hash FROM auth_user');
      for (const { password } of logins) expect(stored.some((row) => row.password_hash.includes(password))).toBe(false);
      // Every fhirUser is a resource of the demo data.
      const full = { url: server.url, token: await issueTestToken(server, 'system/*.rs') };
      for (const { fhirUser } of logins) expect((await http(full, 'GET', fhirUser)).status, fhirUser).toBe(200);

      const guardian = logins.find((entry) => entry.login === 'demo.guardian') as { password: string };
      const person = logins.find((entry) => entry.login === 'demo.person') as { fhirUser: string };
      const redirect = 'http://localhost:3000/callback';
      const pkce = pkcePair();
      const url = new URL(embeddedEndpoints(server.url).authorize);
      for (const [name, value] of Object.entries({ response_type: 'code', client_id: 'kanplan-demo-app', redirect_uri: redirect, scope: 'launch/patient openid fhirUser patient/*.rs', state: 'demo', aud: server.url, code_challenge: pkce.challenge, code_challenge_method: 'S256' })) url.searchParams.set(name, value);
      const browser = new Browser();
      const login = await browser.follow(url.href, redirect);
      const consent = await browser.follow(formAction(await login.response.text(), server.url), redirect, { form: { login: 'demo.guardian', password: guardian.password } });
      const html = await consent.response.text();
      expect(radioValues(html, 'patient')).toEqual([person.fhirUser.replace('Patient/', '')]);

      const restarted = await startServer(config, { db, logger: pino({ level: 'silent' }), stdout });
      await restarted.close();
      expect(printed.match(/Demo sign-ins/g)?.length).toBe(1);
    } finally {
      await server.close();
      await db.close();
    }
  });
});
