import { readFileSync } from 'node:fs';
import nodeHttp from 'node:http';
import { Writable } from 'node:stream';
import type { Parameters } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { HTML_CONTENT_SECURITY_POLICY } from '../../src/server/response-headers.ts';
import { startServer } from '../../src/server/server.ts';
import { http, openTestDatabase, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function expectSecurityHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
  expect(headers.get('x-request-id')).toBeTruthy();
}

describe('security headers and request ids', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('FHIR answers, errors, health checks and authorization server answers carry the security headers and no HSTS over http', async () => {
    const origin = server.url.replace(/\/fhir$/, '');
    const answers = [
      await fetch(`${server.url}/metadata`),
      await fetch(`${server.url}/Patient`),
      await fetch(`${server.url}/Patient/nobody-here`, { headers: { authorization: `Bearer ${server.token}` } }),
      await fetch(`${origin}/healthz`),
      await fetch(`${origin}/no-such-page`),
      await fetch(`${origin}/auth/jwks`),
      await fetch(`${origin}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password' }) }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 404, 200, 404, 200, 400]);
    for (const answer of answers) {
      expectSecurityHeaders(answer.headers);
      expect(answer.headers.get('x-request-id')).toMatch(UUID);
      expect(answer.headers.get('strict-transport-security')).toBeNull();
    }
  });

  test('FHIR answers, read with a token or refused without one, may not be stored by a browser or proxy', async () => {
    const created = await (await fetch(`${server.url}/Patient`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Storeless' }] }) })).json();
    const answers = [
      await fetch(`${server.url}/Patient/${created.id}`, { headers: { authorization: `Bearer ${server.token}` } }),
      await fetch(`${server.url}/Patient?family=Storeless`, { headers: { authorization: `Bearer ${server.token}` } }),
      await fetch(`${server.url}/Patient/${created.id}`),
      await fetch(`${server.url}/metadata`),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 401, 200]);
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  test('idle kept-alive connections are announced for 65 s, longer than a load balancer keeps its own (60 s)', async () => {
    const answer = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const agent = new nodeHttp.Agent({ keepAlive: true });
      nodeHttp.get(`${server.url}/metadata`, { agent }, (res) => {
        res.resume();
        res.on('end', () => agent.destroy());
        resolve(res);
      }).on('error', reject);
    });
    expect(answer.headers.connection).toBe('keep-alive');
    expect(answer.headers['keep-alive']).toBe('timeout=65');
  });

  test('a sane incoming X-Request-Id is kept; a malformed or overlong one is replaced', async () => {
    const kept = await fetch(`${server.url}/metadata`, { headers: { 'x-request-id': 'lb-7f3a.42:edge' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-7f3a.42:edge');
    for (const bad of ['has space', 'x'.repeat(129), '<script>', 'a\tb']) {
      const replaced = await fetch(`${server.url}/metadata`, { headers: { 'x-request-id': bad } });
      expect(replaced.headers.get('x-request-id')).toMatch(UUID);
    }
  });

  test('$render HTML and the sign-in page get the strict HTML Content-Security-Policy', async () => {
    const document = JSON.parse(readFileSync(new URL('../../bundles/documents/sam-testperson.pcsp.json', import.meta.url), 'utf8'));
    const imported = await http(server, 'POST', 'CarePlan/$import-document', { raw: JSON.stringify(document), headers: { 'content-type': 'application/json' } });
    expect(imported.status).toBe(201);
    const reference = (imported.body as Parameters).parameter?.find((p) => p.name === 'carePlan')?.valueReference?.reference;
    const rendered = await http(server, 'GET', `${reference}/$render`, { headers: { accept: 'text/html' } });
    expect(rendered.status).toBe(200);
    expect(rendered.headers.get('content-type')).toMatch(/^text\/html/);
    expect(rendered.headers.get('content-security-policy')).toBe(HTML_CONTENT_SECURITY_POLICY);
    expect(rendered.text).not.toMatch(/<script/i);
    // An unknown client: oidc-provider's own HTML error page (the provider's renderError).
    const page = await fetch(`${server.url.replace(/\/fhir$/, '')}/auth/authorize?client_id=no-such-client&response_type=code&scope=openid`);
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(HTML_CONTENT_SECURITY_POLICY);
    expectSecurityHeaders(page.headers);
  });
});

describe.each(testDatabases)('unexpected failures behind TLS (%s)', (kind) => {
  test('HSTS is sent when BASE_URL is https; a forced database failure answers 500 with the request id, no SQL and no stack, and is logged under that id', async () => {
    const db = await openTestDatabase(kind);
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'https://127.0.0.1:0/fhir', loadDemoData: false });
    const server = await startServer(config, { db, logger: pino({ level: 'error' }, sink) });
    const url = server.url.replace(/^https:/, 'http:');
    try {
      const ok = await fetch(`${url}/metadata`);
      expect(ok.headers.get('strict-transport-security')).toBe('max-age=31536000');
      // Forced failure: the table every write appends to is gone.
      await db.exec('DROP TABLE resource_history CASCADE');
      const failed = await fetch(`${url}/Patient`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', 'x-request-id': 'forced-failure-1' },
        body: JSON.stringify({ resourceType: 'Patient', gender: 'unknown' }),
      });
      expect(failed.status).toBe(500);
      expect(failed.headers.get('strict-transport-security')).toBe('max-age=31536000');
      expect(failed.headers.get('x-request-id')).toBe('forced-failure-1');
      const text = await failed.text();
      expect(JSON.parse(text).issue[0].diagnostics).toContain('request id forced-failure-1');
      expect(text).not.toMatch(/resource_history|relation|SELECT|INSERT|\.ts:\d+|\bat \w/);
      const logged = lines.find((line) => line.msg === 'request failed');
      expect(logged).toMatchObject({ requestId: 'forced-failure-1' });
      expect(JSON.stringify(logged)).toContain('resource_history');
      const ready = await fetch(`${url.replace(/\/fhir$/, '')}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ready', database: kind });
    } finally {
      await server.close();
      await db.close();
    }
  });
});
