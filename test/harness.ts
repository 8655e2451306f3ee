import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'fhir-kit-client';
import { pino } from 'pino';
import { loadOrCreateSigningKey, issueAccessToken } from '../src/auth/signing-key.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';

export type TestDatabaseKind = 'pglite' | 'postgres';

/** Every storage test runs on PGlite, and on PostgreSQL too when TEST_DATABASE_URL is set. */
/**
 * The environment of a `kanplan serve` child process in tests: an ephemeral port on loopback, no
 * demo data, authorization off. BASE_URL is emptied because Vitest puts Vite's BASE_URL=/ into
 * the environment; the server must derive its own.
 */
export const SERVE_PROCESS_ENV = { PORT: '0', BASE_URL: '', HOST: '127.0.0.1', LOAD_DEMO_DATA: 'false', AUTH_MODE: 'off', LOG_LEVEL: 'info' } as const;

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

interface Options {
  options?: { headers?: Record<string, string>; searchParams?: Record<string, string> };
}

/**
 * fhir-kit-client's methods as the tests use them, typed for @medplum/fhirtypes resources
 * (the library's own types want an index signature that FHIR resource types don't have).
 */
export interface TestClient {
  create(args: { resourceType: string; body: object } & Options): Promise<object>;
  read(args: { resourceType: string; id: string } & Options): Promise<object>;
  vread(args: { resourceType: string; id: string; version: string } & Options): Promise<object>;
  update(args: { resourceType: string; id?: string; searchParams?: Record<string, string>; body: object } & Options): Promise<object>;
  patch(args: { resourceType: string; id: string; jsonPatch: object[] } & Options): Promise<object>;
  delete(args: { resourceType: string; id: string } & Options): Promise<object>;
  search(args: { resourceType: string; searchParams?: Record<string, string | string[]> } & Options): Promise<object>;
  history(args?: { resourceType?: string; id?: string } & Options): Promise<object>;
  typeHistory(args: { resourceType: string } & Options): Promise<object>;
  transaction(args: { body: object } & Options): Promise<object>;
  batch(args: { body: object } & Options): Promise<object>;
  operation(args: { name: string; resourceType?: string; id?: string; method?: string; input?: object } & Options): Promise<object>;
  capabilityStatement(): Promise<object>;
  nextPage(args: { bundle: object } & Options): Promise<object> | undefined;
  request(url: string, args?: { method?: string; body?: object } & Options): Promise<object>;
}

export interface TestServer {
  readonly url: string;
  readonly client: TestClient;
  /** A bearer token with full access (system/*.cruds). */
  readonly token: string;
  readonly server: RunningServer;
  readonly db: Database;
  stop(): Promise<void>;
}

/** The real server on an ephemeral loopback port, with fhir-kit-client pointed at it. */
export async function startTestServer(kind: TestDatabaseKind, overrides: Partial<Config> = {}): Promise<TestServer> {
  const db = await openTestDatabase(kind);
  const config = loadConfig(
    {},
    {
      port: 0,
      host: '127.0.0.1',
      baseUrl: 'http://127.0.0.1:0/fhir',
      loadDemoData: false,
      auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: TEST_ISSUER, audience: TEST_ISSUER },
      // AuditEvents only where a test looks at them (test/fhir/audit/): elsewhere they would add
      // resources to every system search, history and Patient compartment a test counts.
      audit: { enabled: false, retentionDays: 0, flushMs: 1000, readGrouping: true },
      ...overrides,
    },
  );
  // The reminder job is off unless a test asks for it: it would write Tasks into other tests' data.
  const workflow = overrides.workflow ?? { ...config.workflow, reminderJobEveryMs: 0 };
  const server = await startServer({ ...config, workflow }, { db, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }) });
  const token = await issueTestToken(server, 'system/*.cruds');
  const client = new Client({ baseUrl: server.url, bearerToken: token }) as unknown as TestClient;
  return {
    url: server.url,
    client,
    token,
    server,
    db,
    async stop() {
      await server.close();
      await db.close();
    },
  };
}

export const TEST_KEY_FILE = path.resolve('.tmp/test-auth/signing-key.json');
const TEST_ISSUER = 'https://kanplan.test/issuer';

/** Launch context and identity claims of a test token (SMART App Launch). */
export interface TestTokenClaims {
  readonly patient?: string;
  readonly encounter?: string;
  readonly fhirUser?: string;
}

/** An access token for the test server, with the given SMART scopes (and launch context). */
export async function issueTestToken(server: Pick<RunningServer, 'url'>, scope: string, expiresIn = '1h', claims: TestTokenClaims = {}): Promise<string> {
  const key = await loadOrCreateSigningKey(TEST_KEY_FILE);
  return issueAccessToken(key, { scope, subject: 'test-client', issuer: TEST_ISSUER, audience: TEST_ISSUER, expiresIn, ...claims });
}

/**
 * Raw HTTP for what fhir-kit-client cannot express (bad bodies, odd headers, status codes).
 * Sends the server's full-access token unless the caller sets Authorization (or '' for none).
 */
export async function http(
  server: Pick<TestServer, 'url' | 'token'>,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${server.token}`, ...options.headers };
  if (headers.authorization === '') delete headers.authorization;
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
