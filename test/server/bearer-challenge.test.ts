import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { issueAccessToken, loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';
import { bearerChallengeHeader } from '../../src/server/bearer-challenge.ts';
import { TEST_KEY_FILE, http, issueTestToken, startTestServer, type TestServer } from '../harness.ts';

const ISSUER = 'https://kanplan.test/issuer';

/** Splits `Bearer realm="x", error="y"` into its parameters (RFC 6750 §3). */
function challenge(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...(header as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

describe('401 and 403 carry the RFC 6750 bearer challenge', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('no token: 401 with a bare challenge naming the realm, and an OperationOutcome', async () => {
    const res = await http(server, 'GET', 'Patient/abc', { headers: { authorization: '' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="kanplan"');
    expect(res.body.issue[0].code).toBe('login');
  });

  test('another scheme than Bearer counts as no token and says what to send', async () => {
    const res = await http(server, 'GET', 'Patient/abc', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="kanplan"');
    expect(res.body.issue[0].diagnostics).toContain('"Basic"');
  });

  test('an expired token: invalid_token with a description', async () => {
    const expired = await issueTestToken(server.server, 'system/*.cruds', '-1m');
    const res = await http(server, 'GET', 'Patient/abc', { headers: { authorization: `Bearer ${expired}` } });
    expect(res.status).toBe(401);
    const params = challenge(res.headers.get('www-authenticate'));
    expect(params).toMatchObject({ realm: 'kanplan', error: 'invalid_token' });
    expect(params.error_description).toContain('expired');
    expect(res.body.issue[0].diagnostics).toContain('expired');
  });

  test('a token for another audience: invalid_token naming the audience it needs', async () => {
    const key = await loadOrCreateSigningKey(TEST_KEY_FILE);
    const token = await issueAccessToken(key, { scope: 'system/*.cruds', subject: 'x', issuer: ISSUER, audience: 'https://other-server.test/fhir', expiresIn: '5m' });
    const res = await http(server, 'GET', 'Patient/abc', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    const params = challenge(res.headers.get('www-authenticate'));
    expect(params.error).toBe('invalid_token');
    expect(params.error_description).toContain(`aud must be ${ISSUER}`);
  });

  test('a tampered signature, alg none and a foreign key are all invalid_token', async () => {
    const tampered = `${server.token.slice(0, -6)}AAAAAA`;
    const none = new UnsecuredJWT({ scope: 'system/*.cruds' }).setIssuer(ISSUER).setAudience(ISSUER).setExpirationTime('5m').encode();
    const foreign = await new SignJWT({ scope: 'system/*.cruds' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-secret-the-server-never-trusted-000000'));
    for (const token of [tampered, none, foreign]) {
      const res = await http(server, 'GET', 'Patient/abc', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
      expect(challenge(res.headers.get('www-authenticate')).error).toBe('invalid_token');
    }
  });

  test('a valid token without the scope: 403 insufficient_scope naming the scope, in the header and the OperationOutcome', async () => {
    const token = await issueTestToken(server.server, 'user/Patient.rs');
    const res = await http(server, 'GET', 'CarePlan/x', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    const params = challenge(res.headers.get('www-authenticate'));
    expect(params).toMatchObject({ realm: 'kanplan', error: 'insufficient_scope', scope: 'user/CarePlan.r' });
    expect(res.body.issue[0].code).toBe('forbidden');
    expect(res.body.issue[0].diagnostics).toContain('user/CarePlan.r');
  });

  test('a backend service is told the system/ scope it lacks', async () => {
    const token = await issueTestToken(server.server, 'system/Patient.rs');
    const res = await http(server, 'POST', 'Patient', { headers: { authorization: `Bearer ${token}` }, body: { resourceType: 'Patient' } });
    expect(res.status).toBe(403);
    expect(challenge(res.headers.get('www-authenticate')).scope).toBe('system/Patient.c');
  });

  test('a patient app is told the patient/ scope it lacks', async () => {
    const token = await issueTestToken(server.server, 'patient/Patient.rs');
    const res = await http(server, 'GET', 'Goal?_count=1', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(challenge(res.headers.get('www-authenticate')).scope).toBe('patient/Goal.s');
  });

  test('a transaction entry outside the grant keeps the challenge, and the outcome names the entry', async () => {
    const token = await issueTestToken(server.server, 'user/Patient.cruds');
    const res = await http(server, 'POST', '', {
      headers: { authorization: `Bearer ${token}` },
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } },
        ],
      },
    });
    expect(res.status).toBe(403);
    expect(challenge(res.headers.get('www-authenticate'))).toMatchObject({ error: 'insufficient_scope', scope: 'user/Basic.c' });
    expect(res.body.issue[0].diagnostics).toContain('Bundle.entry[1] (POST Basic)');
  });

  test('discovery needs no token and sends no challenge', async () => {
    const res = await http(server, 'GET', 'metadata', { headers: { authorization: '' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('www-authenticate')).toBeNull();
  });
});

describe('the challenge header text', () => {
  test('keeps to the characters RFC 6750 allows in quoted values', () => {
    const header = bearerChallengeHeader({ error: 'invalid_token', description: 'claim "aud" \\ für x\n' });
    expect(header).toBe(`Bearer realm="kanplan", error="invalid_token", error_description="claim 'aud' ' f r x "`);
  });
});
