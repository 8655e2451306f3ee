import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import smart from 'fhirclient';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchTestBrowser, type TestBrowser } from '../browser.ts';
import { startTestServer, type TestServer } from '../harness.ts';

/**
 * SMART's own client library (`fhirclient`) against kanplan as the resource server: the app side
 * of a launch, in both of the environments it supports. How to drive the full launches with it is
 * in test/README-smart.md.
 */

/** fhirclient's Storage interface (its types live in a namespace the package does not export by path). */
type SmartStorage = Exclude<Parameters<typeof smart>[2], undefined | ((...args: never[]) => unknown)>;

/** fhirclient's state storage for the Node adapter; its default wants an express-session `req.session`. */
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

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('SMART fhirclient with a bearer token', () => {
  let server: TestServer;
  let app: http.Server;
  let appUrl: string;
  let patientId: string;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    // The app's origin must be known before the FHIR server starts (CORS_ORIGINS), so bind it first.
    const bundle = fs.readFileSync(createRequire(import.meta.url).resolve('fhirclient/build/fhir-client.js'));
    app = http.createServer((req, res) => {
      void serveApp(req, res, bundle);
    });
    appUrl = await listen(app);
    server = await startTestServer('pglite', { cors: { origins: [appUrl], allowCredentials: false } });
    const created = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Smartson' }] } })) as { id: string };
    patientId = created.id;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => app?.close(resolve));
  });

  /**
   * A server-side SMART app: on /read it builds a fhirclient Client through the Node adapter
   * (`smart(req, res, storage).client(state)`, the same object `ready()` returns after a launch)
   * and reads the CapabilityStatement and a Patient. The browser page gets the library bundle.
   */
  async function serveApp(req: http.IncomingMessage, res: http.ServerResponse, bundle: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', appUrl);
    try {
      if (url.pathname === '/fhir-client.js') {
        res.setHeader('content-type', 'text/javascript');
        res.end(bundle);
      } else if (url.pathname === '/read') {
        const client = smart(req, res, memoryStorage()).client({
          serverUrl: server.url,
          tokenResponse: { access_token: server.token, token_type: 'Bearer', patient: patientId },
        });
        const metadata = await client.request<{ fhirVersion: string }>('metadata');
        const patient = await client.request<{ name: { family: string }[] }>(`Patient/${client.patient.id}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ fhirVersion: metadata.fhirVersion, family: patient.name[0].family }));
      } else {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end('<!doctype html><title>SMART app</title><script src="/fhir-client.js"></script>');
      }
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  }

  test('in Node: the Node adapter client reads /metadata and the token\'s patient', async () => {
    const res = await fetch(`${appUrl}/read`);
    expect(await res.json()).toEqual({ fhirVersion: '4.0.1', family: 'Smartson' });
  });

  test('in Chromium: the browser bundle reads the patient cross-origin', async () => {
    browser = await launchTestBrowser();
    const page = await browser.context.newPage();
    await page.goto(`${appUrl}/`);
    const family = await page.evaluate(
      async ({ serverUrl, token, patient }) => {
        const FHIR = (globalThis as unknown as { FHIR: { client(state: object): { request<T>(url: string): Promise<T> } } }).FHIR;
        const client = FHIR.client({ serverUrl, tokenResponse: { access_token: token, token_type: 'Bearer', patient } });
        const read = await client.request<{ name: { family: string }[] }>(`Patient/${patient}`);
        return read.name[0].family;
      },
      { serverUrl: server.url, token: server.token, patient: patientId },
    );
    await page.close();
    expect(family).toBe('Smartson');
  });
});
