import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Client } from 'fhir-kit-client';
import { pino } from 'pino';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';

export type TestDatabaseKind = 'pglite' | 'postgres';

/** Every storage test runs on PGlite, and on PostgreSQL too when TEST_DATABASE_URL is set. */
export const testDatabases: TestDatabaseKind[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/**
 * A migrated database of its own for one test file: an in-memory PGlite restored from the
 * template dump, or a fresh schema in the PostgreSQL at TEST_DATABASE_URL (dropped on close).
 */
export async function openTestDatabase(kind: TestDatabaseKind): Promise<Database> {
  if (kind === 'pglite') {
    const dumpFile = process.env.KANPLAN_TEST_PGLITE_DUMP;
    const dump = dumpFile && fs.existsSync(dumpFile) ? new Blob([fs.readFileSync(dumpFile)]) : undefined;
    const db = await openDatabase({ pgliteDump: dump });
    await migrate(db);
    return db;
  }
  const databaseUrl = process.env.TEST_DATABASE_URL as string;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const db = await openDatabase({ databaseUrl, schema, maxConnections: 10 });
  await migrate(db);
  return {
    ...db,
    async close() {
      await db.close();
      const cleanup = await openDatabase({ databaseUrl, maxConnections: 1 });
      await cleanup.exec(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.close();
    },
  };
}

export interface TestServer {
  readonly url: string;
  readonly client: Client;
  readonly server: RunningServer;
  readonly db: Database;
  stop(): Promise<void>;
}

/** The real server on an ephemeral loopback port, with fhir-kit-client pointed at it. */
export async function startTestServer(kind: TestDatabaseKind, overrides: Partial<Config> = {}): Promise<TestServer> {
  const db = await openTestDatabase(kind);
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, ...overrides });
  const server = await startServer(config, { db, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }) });
  return {
    url: server.url,
    client: new Client({ baseUrl: server.url }),
    server,
    db,
    async stop() {
      await server.close();
      await db.close();
    },
  };
}

/** Raw HTTP for what fhir-kit-client cannot express (bad bodies, odd headers, status codes). */
export async function http(
  server: Pick<TestServer, 'url'>,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/fhir+json';
  }
  const response = await fetch(`${server.url}${path.startsWith('/') || path === '' ? '' : '/'}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
