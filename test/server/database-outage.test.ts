import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { TEST_KEY_FILE, issueTestToken } from '../harness.ts';

const TEST_ISSUER = 'https://kanplan.test/issuer';
const adminUrl = process.env.TEST_DATABASE_URL;

/**
 * PostgreSQL out of reach, without touching the shared service: the server runs on a database of
 * its own, which is closed to connections (ALLOW_CONNECTIONS false) and whose backends are
 * terminated from an admin connection, then opened again.
 */
describe.runIf(adminUrl)('PostgreSQL unavailable: 503 with Retry-After, then served again without a restart', () => {
  const name = `kanplan_outage_${randomBytes(4).toString('hex')}`;
  let admin: Database;
  let server: RunningServer;
  let token: string;

  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...init.headers } });
  const terminateBackends = () => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);

  beforeAll(async () => {
    admin = await openDatabase({ databaseUrl: adminUrl, maxConnections: 1 });
    await admin.exec(`CREATE DATABASE ${name}`);
    const databaseUrl = new URL(adminUrl as string);
    databaseUrl.pathname = `/${name}`;
    const config = loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', databaseUrl: databaseUrl.toString(), loadDemoData: false, auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: TEST_ISSUER, audience: TEST_ISSUER } });
    server = await startServer(config, { logger: pino({ level: 'silent' }) });
    token = await issueTestToken(server, 'system/*.cruds');
    expect((await request('Patient/pat-outage', { method: 'PUT', body: JSON.stringify({ resourceType: 'Patient', id: 'pat-outage' }) })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await admin?.exec(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
    await server?.close();
    await admin?.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin?.close();
  });

  test('reads, searches and writes get 503 transient with Retry-After while no connection can be made; all succeed once it can', async () => {
    await admin.exec(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    await terminateBackends();
    for (const [path, init] of [
      ['Patient/pat-outage', {}],
      ['Patient?_id=pat-outage', {}],
      ['Patient/pat-outage', { method: 'PUT', body: JSON.stringify({ resourceType: 'Patient', id: 'pat-outage', active: true }) }],
    ] as const) {
      const response = await request(path, init);
      expect(response.status, path).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      const outcome = await response.json();
      expect(outcome.issue[0].code).toBe('transient');
      expect(outcome.issue[0].diagnostics).toMatch(/database is unavailable.*Retry after 5 seconds/);
      // Neither SQL nor the driver's message leaves the server.
      expect(JSON.stringify(outcome)).not.toMatch(/accepting connections|pg_|SQLSTATE/);
    }
    expect((await fetch(server.url.replace(/\/fhir$/, '/readyz'))).status).toBe(503);

    await admin.exec(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
    expect((await request('Patient/pat-outage')).status).toBe(200);
    const updated = await request('Patient/pat-outage', { method: 'PUT', body: JSON.stringify({ resourceType: 'Patient', id: 'pat-outage', active: true }) });
    expect(updated.status).toBe(200);
    expect((await updated.json()).meta.versionId).toBe('2');
    expect((await fetch(server.url.replace(/\/fhir$/, '/readyz'))).status).toBe(200);
  });

  test('backends terminated under the server (a PostgreSQL restart, as the pool sees it): never a 500, and served again', async () => {
    await terminateBackends();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) statuses.push((await request('Patient/pat-outage')).status);
    expect(statuses.every((status) => status === 200 || status === 503), statuses.join(',')).toBe(true);
    expect(statuses.at(-1)).toBe(200);
  });
});
