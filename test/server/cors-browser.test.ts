import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchTestBrowser, type TestBrowser } from '../browser.ts';
import { startTestServer, type TestServer } from '../harness.ts';

/**
 * CORS proven where it matters: a page in headless Chromium, served from another loopback origin
 * than the FHIR server, calls the API with fetch. The browser enforces the protocol (preflight for
 * the Authorization header, withholding answers without Access-Control-Allow-Origin).
 */
describe('a browser app on another origin', () => {
  let pages: http.Server;
  let appOrigin: string;
  let otherOrigin: string;
  let server: TestServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    pages = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html><title>app</title><p>SMART app stand-in</p>');
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    const { port } = pages.address() as AddressInfo;
    // The same page server under two names: two origins (https://html.spec.whatwg.org/#origin).
    appOrigin = `http://127.0.0.1:${port}`;
    otherOrigin = `http://localhost:${port}`;
    server = await startTestServer('pglite', { cors: { origins: [appOrigin], allowCredentials: false } });
    browser = await launchTestBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => pages?.close(resolve));
  });

  test('reads the CapabilityStatement, and with a token a Patient and its ETag, from the allowed origin', async () => {
    const created = await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Browserly' }] } });
    const page = await browser.context.newPage();
    await page.goto(`${appOrigin}/`);
    const result = await page.evaluate(
      async ({ base, token, id }) => {
        const metadata = await fetch(`${base}/metadata`);
        const patient = await fetch(`${base}/Patient/${id}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
        const unauthorized = await fetch(`${base}/Patient/${id}`);
        return {
          metadata: { status: metadata.status, fhirVersion: ((await metadata.json()) as { fhirVersion: string }).fhirVersion },
          patient: { status: patient.status, etag: patient.headers.get('etag'), family: ((await patient.json()) as { name: { family: string }[] }).name[0].family },
          unauthorized: { status: unauthorized.status, challenge: unauthorized.headers.get('www-authenticate') },
        };
      },
      { base: server.url, token: server.token, id: (created as { id: string }).id },
    );
    await page.close();
    expect(result).toEqual({
      metadata: { status: 200, fhirVersion: '4.0.1' },
      patient: { status: 200, etag: 'W/"1"', family: 'Browserly' },
      unauthorized: { status: 401, challenge: 'Bearer realm="kanplan"' },
    });
  });

  test('a page from an origin that is not allowed cannot read the answers', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${otherOrigin}/`);
    const outcome = await page.evaluate(async (base) => {
      try {
        await fetch(`${base}/metadata`);
        return 'read';
      } catch (err) {
        return (err as Error).name;
      }
    }, server.url);
    await page.close();
    expect(outcome).toBe('TypeError');
  });
});
