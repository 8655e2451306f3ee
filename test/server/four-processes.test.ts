import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { startKanplan, type ServerProcess } from '../../bench/load/processes.ts';
import { openDatabase } from '../../src/store/database.ts';
import { issueTestToken, TEST_KEY_FILE } from '../harness.ts';
import { concurrentWriterTests, type Api } from './concurrent-writers.ts';

const ISSUER = 'https://kanplan.test/issuer';
const adminUrl = process.env.TEST_DATABASE_URL;

/**
 * The scale-out path as it is deployed: four `kanplan serve` processes (each its own Node
 * process and pool of connections) on one PostgreSQL database, started together on an empty
 * database (migrations serialize on an advisory lock), requests spread over them round-robin.
 */
describe.runIf(adminUrl)('four kanplan processes on one PostgreSQL: no lost update, no duplicate, never a 500', () => {
  const name = `kanplan_four_${randomBytes(4).toString('hex')}`;
  const processes: ServerProcess[] = [];
  const apis: Api[] = [];

  beforeAll(async () => {
    const admin = await openDatabase({ databaseUrl: adminUrl, maxConnections: 1 });
    await admin.exec(`CREATE DATABASE ${name}`);
    await admin.close();
    const databaseUrl = new URL(adminUrl as string);
    databaseUrl.pathname = `/${name}`;
    const env = { DATABASE_URL: databaseUrl.toString(), AUTH_KEY_FILE: TEST_KEY_FILE, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: ISSUER };
    const started = await Promise.allSettled([0, 1, 2, 3].map(() => startKanplan(env)));
    for (const result of started) if (result.status === 'fulfilled') processes.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const server of processes) apis.push({ url: server.url, token: await issueTestToken(server, 'system/*.cruds') });
  }, 600_000);
  afterAll(async () => {
    await Promise.all(processes.map((server) => server.stop()));
    const admin = await openDatabase({ databaseUrl: adminUrl, maxConnections: 1 });
    await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.close();
  }, 120_000);

  concurrentWriterTests(() => apis, 24, 'pat-four');
});
