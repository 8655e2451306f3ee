import type { AddressInfo } from 'node:net';
import http from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { corsPolicy, createCorsMiddleware, type OriginSource } from '../../src/server/cors.ts';
import { startTestServer, type TestServer } from '../harness.ts';

const APP = 'http://app.kanplan.test:3000';
const STRANGER = 'https://elsewhere.example.org';

/** The origin of the FHIR base URL: where the auth endpoints live. */
function serverOrigin(server: TestServer): string {
  return new URL(server.url).origin;
}

function preflight(url: string, origin: string, requestHeaders = 'authorization, content-type'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': requestHeaders } });
}

describe('CORS for browser apps, with configured origins', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { cors: { origins: [APP], allowCredentials: false } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('an allowed origin reads the CapabilityStatement, with the FHIR headers exposed', async () => {
    const res = await fetch(`${server.url}/metadata`, { headers: { origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/Origin/);
    const exposed = res.headers.get('access-control-expose-headers')?.split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['ETag', 'Location', 'Last-Modified', 'Content-Location', 'WWW-Authenticate']));
  });

  test('a disallowed origin gets no CORS headers (the browser withholds the answer), only Vary', async () => {
    const res = await fetch(`${server.url}/metadata`, { headers: { origin: STRANGER } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  test('a preflight from an allowed origin is 204 with methods, headers and max-age', async () => {
    const res = await preflight(`${server.url}/Patient/abc`, APP);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')?.split(/,\s*/)).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']));
    const allowed = res.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'if-match', 'if-none-exist', 'if-none-match', 'prefer']));
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
  });

  test('a preflight from a disallowed origin is 204 without CORS headers, not an error', async () => {
    const res = await preflight(`${server.url}/Patient/abc`, STRANGER);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
  });

  test('errors carry CORS headers too, so an app can read a 401 and its challenge', async () => {
    const res = await fetch(`${server.url}/Patient/abc`, { headers: { origin: APP } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="kanplan"');
  });

  test('an authorized read from the app exposes its ETag', async () => {
    const created = await fetch(`${server.url}/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Corsby' }] }),
    });
    const { id } = (await created.json()) as { id: string };
    const res = await fetch(`${server.url}/Patient/${id}`, { headers: { origin: APP, authorization: `Bearer ${server.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('etag')).toBe('W/"1"');
  });

  test('SMART discovery and the token endpoint answer CORS the same way', async () => {
    const discovery = await fetch(`${server.url}/.well-known/smart-configuration`, { headers: { origin: APP } });
    expect(discovery.headers.get('access-control-allow-origin')).toBe(APP);
    const token = await preflight(`${serverOrigin(server)}/auth/token`, APP, 'content-type');
    expect(token.status).toBe(204);
    expect(token.headers.get('access-control-allow-origin')).toBe(APP);
    // The authorization endpoint is a page the browser navigates to, not an API: no CORS there.
    const authorize = await fetch(`${serverOrigin(server)}/auth/authorize`, { headers: { origin: APP } });
    expect(authorize.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('requests without Origin (servers, curl) get no CORS headers', async () => {
    const res = await fetch(`${server.url}/metadata`);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

/** The middleware alone on a bare express app: the seam the client registry plugs into, and `*`. */
describe('CORS policy sources', () => {
  const servers: http.Server[] = [];
  async function serve(middleware: express.RequestHandler): Promise<string> {
    const app = express();
    app.use(middleware);
    app.get('/probe', (_req, res) => {
      res.json({ ok: true });
    });
    const server = http.createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  test('by default the registered clients decide, asynchronously', async () => {
    const asked: string[] = [];
    const registered: OriginSource = async (origin) => {
      asked.push(origin);
      return origin === 'https://registered-app.example.org';
    };
    const base = await serve(createCorsMiddleware(corsPolicy({ allowCredentials: false }, registered)));
    const ok = await fetch(`${base}/probe`, { headers: { origin: 'https://registered-app.example.org' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://registered-app.example.org');
    const no = await fetch(`${base}/probe`, { headers: { origin: STRANGER } });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
    expect(asked).toEqual(['https://registered-app.example.org', STRANGER]);
  });

  test('a configured list replaces the registered origins', async () => {
    const base = await serve(createCorsMiddleware(corsPolicy({ origins: [APP], allowCredentials: true }, () => true)));
    const listed = await fetch(`${base}/probe`, { headers: { origin: APP } });
    expect(listed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    expect((await fetch(`${base}/probe`, { headers: { origin: STRANGER } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  test('* answers any origin with a wildcard and never with credentials; an opaque origin gets nothing', async () => {
    const base = await serve(createCorsMiddleware(corsPolicy({ origins: '*', allowCredentials: false }, () => false)));
    const any = await fetch(`${base}/probe`, { headers: { origin: STRANGER } });
    expect(any.headers.get('access-control-allow-origin')).toBe('*');
    expect(any.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await fetch(`${base}/probe`, { headers: { origin: 'null' } })).headers.get('access-control-allow-origin')).toBeNull();
  });
});
