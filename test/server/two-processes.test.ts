import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { issueTestToken, openTestDatabase, testDatabases, TEST_KEY_FILE } from '../harness.ts';
import { concurrentWriterTests, type Api } from './concurrent-writers.ts';

const ISSUER = 'https://kanplan.test/issuer';

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

  beforeAll(async () => {
    shared = await openShared(kind);
    const config = loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: ISSUER, audience: ISSUER } });
    for (const db of shared.pools) {
      const server = await startServer(config, { db, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }) });
      servers.push(server);
      apis.push({ url: server.url, token: await issueTestToken(server, 'system/*.cruds') });
    }
  }, 180_000);
  afterAll(async () => {
    for (const server of servers) await server.close().catch(() => undefined);
    await shared?.close();
  });

  concurrentWriterTests(() => apis, 12, 'pat-two');
});
