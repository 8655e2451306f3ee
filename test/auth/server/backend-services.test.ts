import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerClient } from '../../../src/auth/server/clients.ts';
import { embeddedEndpoints } from '../../../src/auth/smart-configuration.ts';
import { TEST_KEY_FILE, http as fhirHttp, startTestServer, testDatabases, type TestServer } from '../../harness.ts';

const ISSUER = 'https://kanplan.test/issuer';

interface SigningClient {
  readonly clientId: string;
  readonly alg: 'RS384' | 'ES384';
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

async function keyPair(alg: 'RS384' | 'ES384', kid: string): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

describe.each(testDatabases)('SMART Backend Services: client_credentials with private_key_jwt (%s)', (kind) => {
  let server: TestServer;
  let tokenUrl: string;
  let rsClient: SigningClient;
  let ecClient: SigningClient;
  let narrowClient: SigningClient;
  let jwksServer: http.Server;

  beforeAll(async () => {
    server = await startTestServer(kind, { auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: ISSUER, audience: ISSUER, allowPrivateJwksUrls: true } });
    tokenUrl = embeddedEndpoints(server.url).token;
    // RS384 keys registered by value.
    const rs = await keyPair('RS384', 'rs-key-1');
    const rsReg = await registerClient(server.db, { type: 'confidential-asymmetric', name: 'EHR bulk puller', redirectUris: [], jwks: { keys: [rs.publicJwk] } });
    rsClient = { clientId: rsReg.client.clientId, alg: 'RS384', kid: 'rs-key-1', privateKey: rs.privateKey };
    // ES384 keys registered by URL, served from a loopback server.
    const ec = await keyPair('ES384', 'ec-key-1');
    jwksServer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [ec.publicJwk] })));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    const ecReg = await registerClient(server.db, { type: 'confidential-asymmetric', name: 'MCO system', redirectUris: [], jwksUri });
    ecClient = { clientId: ecReg.client.clientId, alg: 'ES384', kid: 'ec-key-1', privateKey: ec.privateKey };
    const narrow = await keyPair('ES384', 'narrow-1');
    const narrowReg = await registerClient(server.db, { type: 'confidential-asymmetric', name: 'Read-only system', redirectUris: [], jwks: { keys: [narrow.publicJwk] }, allowedScopes: ['system/Patient.rs'] });
    narrowClient = { clientId: narrowReg.client.clientId, alg: 'ES384', kid: 'narrow-1', privateKey: narrow.privateKey };
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  async function assertion(client: SigningClient, claims: { exp?: number; jti?: string; aud?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ jti: claims.jti ?? crypto.randomUUID() })
      .setProtectedHeader({ alg: client.alg, kid: client.kid, typ: 'JWT' })
      .setIssuer(client.clientId)
      .setSubject(client.clientId)
      .setAudience(claims.aud ?? tokenUrl)
      .setExpirationTime(claims.exp ?? now + 240)
      .sign(client.privateKey);
  }

  async function requestToken(scope: string, clientAssertion: string): Promise<{ status: number; headers: Headers; body: any }> {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: clientAssertion }),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  test('an RS384 client with keys registered by value gets a system token of at most 300 s that the FHIR API accepts', async () => {
    const res = await requestToken('system/*.rs', await assertion(rsClient));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'system/*.rs' });
    expect(res.body.expires_in).toBeLessThanOrEqual(300);
    expect(decodeJwt(res.body.access_token)).toMatchObject({ client_id: rsClient.clientId, scope: 'system/*.rs' });
    const search = await fhirHttp({ url: server.url, token: res.body.access_token }, 'GET', 'Patient');
    expect(search.status).toBe(200);
  });

  test('an ES384 client with keys registered by URL (jwks_uri) gets a token', async () => {
    const res = await requestToken('system/Patient.rs system/CarePlan.cruds', await assertion(ecClient));
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('system/Patient.rs system/CarePlan.cruds');
  });

  test('a replayed assertion (same jti) is refused', async () => {
    const signed = await assertion(rsClient, { jti: 'once-only-jti' });
    expect((await requestToken('system/*.rs', signed)).status).toBe(200);
    const replay = await requestToken('system/*.rs', signed);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
  });

  test('an assertion expiring more than five minutes ahead is refused', async () => {
    const res = await requestToken('system/*.rs', await assertion(rsClient, { exp: Math.floor(Date.now() / 1000) + 600 }));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  test('a tampered signature is refused', async () => {
    const signed = await assertion(ecClient);
    const [header, payload, signature] = signed.split('.');
    const flipped = signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1);
    const res = await requestToken('system/*.rs', `${header}.${payload}.${flipped}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  test('an unsigned assertion (alg none) is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: rsClient.clientId, sub: rsClient.clientId, aud: tokenUrl, exp: now + 60, jti: crypto.randomUUID() })}.`;
    const res = await requestToken('system/*.rs', unsigned);
    expect([400, 401]).toContain(res.status);
    expect(['invalid_client', 'invalid_request']).toContain(res.body.error);
  });

  test('an assertion for another audience is refused', async () => {
    const res = await requestToken('system/*.rs', await assertion(rsClient, { aud: 'https://elsewhere.test/token' }));
    expect(res.status).toBe(401);
  });

  test('user/ and patient/ scopes cannot be had with client_credentials', async () => {
    for (const scope of ['user/*.rs', 'patient/Patient.rs', 'system/*.rs patient/*.rs']) {
      const res = await requestToken(scope, await assertion(rsClient));
      expect(res.status, scope).toBe(400);
      expect(res.body.error).toBe('invalid_scope');
    }
  });

  test('a client asking beyond its allowed scopes is refused; within them it is served', async () => {
    const beyond = await requestToken('system/Observation.rs', await assertion(narrowClient));
    expect(beyond.status).toBe(400);
    expect(beyond.body.error).toBe('invalid_scope');
    expect(beyond.body.error_description).toContain('beyond');
    const within = await requestToken('system/Patient.r', await assertion(narrowClient));
    expect(within.status).toBe(200);
    expect(within.body.scope).toBe('system/Patient.r');
  });

  test('an unknown grant type and an unknown assertion type are 400', async () => {
    const wrongGrant = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', username: 'x', password: 'y' }) });
    expect(wrongGrant.status).toBe(400);
    const wrongType = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: 'urn:example:other', client_assertion: await assertion(rsClient) }),
    });
    expect([400, 401]).toContain(wrongType.status);
  });
});
