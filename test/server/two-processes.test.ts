import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { http, issueTestToken, openTestDatabase, testDatabases, TEST_KEY_FILE } from '../harness.ts';

const ISSUER = 'https://kanplan.test/issuer';
type Api = { url: string; token: string };

/**
 * Two kanplan servers on one database, each with its own connection pool (on PostgreSQL: the
 * scale-out path, as two processes behind a load balancer see it; the embedded database has one
 * connection, which both share). Requests alternate between them and run at once.
 */
async function openShared(kind: 'pglite' | 'postgres'): Promise<{ pools: [Database, Database]; close: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openTestDatabase(kind);
    return { pools: [db, db], close: () => db.close() };
  }
  const databaseUrl = process.env.TEST_DATABASE_URL as string;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const first = await openDatabase({ databaseUrl, schema, maxConnections: 10 });
  await migrate(first);
  const second = await openDatabase({ databaseUrl, schema, maxConnections: 10 });
  return {
    pools: [first, second],
    async close() {
      await first.close();
      await second.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

describe.each(testDatabases)('two servers on one database: no lost update, no duplicate, never a 500 (%s)', (kind) => {
  let shared: Awaited<ReturnType<typeof openShared>>;
  const servers: RunningServer[] = [];
  const apis: Api[] = [];
  const on = (i: number): Api => apis[i % 2];

  beforeAll(async () => {
    shared = await openShared(kind);
    const config = loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: ISSUER, audience: ISSUER } });
    for (const db of shared.pools) {
      const server = await startServer(config, { db, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }) });
      servers.push(server);
      apis.push({ url: server.url, token: await issueTestToken(server, 'system/*.cruds') });
    }
  }, 60_000);
  afterAll(async () => {
    for (const server of servers) await server.close().catch(() => undefined);
    await shared?.close();
  });

  test('concurrent updates of one resource without If-Match: each acknowledged version is in the history with what it wrote', async () => {
    await http(on(0), 'PUT', 'Patient/pat-two-a', { body: { resourceType: 'Patient', id: 'pat-two-a' } });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => http(on(i), 'PUT', 'Patient/pat-two-a', { body: { resourceType: 'Patient', id: 'pat-two-a', name: [{ family: `Writer${i}` }] } })),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 200 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    const acknowledged = results.filter((r) => r.status === 200);
    expect(acknowledged.length).toBeGreaterThan(0);
    const history = await http(on(1), 'GET', 'Patient/pat-two-a/_history?_count=100');
    const versions = new Map<string, string>(history.body.entry.map((e: { resource: { meta: { versionId: string }; name?: { family: string }[] } }) => [e.resource.meta.versionId, e.resource.name?.[0]?.family ?? '']));
    expect(versions.size).toBe(acknowledged.length + 1);
    for (const r of acknowledged) expect(versions.get(r.body.meta.versionId)).toBe(r.body.name[0].family);
  });

  test('concurrent updates with the same If-Match: exactly one wins, the others get 412', async () => {
    const created = await http(on(0), 'PUT', 'Patient/pat-two-b', { body: { resourceType: 'Patient', id: 'pat-two-b' } });
    const etag = `W/"${created.body.meta.versionId}"`;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        http(on(i), 'PUT', 'Patient/pat-two-b', { body: { resourceType: 'Patient', id: 'pat-two-b', name: [{ family: `Racer${i}` }] }, headers: { 'if-match': etag } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200 && s !== 412 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    const current = await http(on(1), 'GET', 'Patient/pat-two-b');
    expect(current.body.meta.versionId).toBe('2');
    expect(current.body.name[0].family).toBe(results.find((r) => r.status === 200)?.body.name[0].family);
  });

  test('concurrent conditional creates with the same criteria create one resource', async () => {
    const identifier = { system: 'https://kanplan.test/two-processes', value: 'same-person-1' };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        http(on(i), 'POST', 'Patient', { body: { resourceType: 'Patient', identifier: [identifier] }, headers: { 'if-none-exist': `identifier=${identifier.system}|${identifier.value}` } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 201 && s !== 200 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    const found = await http(on(1), 'GET', `Patient?identifier=${identifier.system}|${identifier.value}&_total=accurate`);
    expect(found.body.total).toBe(1);
  });

  test('transactions updating the same two resources in opposite orders: each commits whole or answers 409, never a 500', async () => {
    for (const id of ['pat-two-x', 'pat-two-y']) await http(on(0), 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id } });
    const entry = (id: string, family: string) => ({ resource: { resourceType: 'Patient', id, name: [{ family }] }, request: { method: 'PUT', url: `Patient/${id}` } });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const ids = i % 2 === 0 ? ['pat-two-x', 'pat-two-y'] : ['pat-two-y', 'pat-two-x'];
        return http(on(i), 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: ids.map((id) => entry(id, `Batch${i}`)) } });
      }),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 200 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    const committed = results.filter((r) => r.status === 200).length;
    expect(committed).toBeGreaterThan(0);
    const [x, y] = await Promise.all(['pat-two-x', 'pat-two-y'].map((id) => http(on(1), 'GET', `Patient/${id}`)));
    // Every committed transaction wrote both, once: both are at version 1 + committed, written by the same one.
    expect([x.body.meta.versionId, y.body.meta.versionId]).toEqual([String(1 + committed), String(1 + committed)]);
    expect(x.body.name[0].family).toBe(y.body.name[0].family);
  });
});
