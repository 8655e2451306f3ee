import { randomBytes } from 'node:crypto';
import { openDatabase, type Database, type SqlParam } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import type { Repository } from '../../src/store/repository.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { loadConformance, type Conformance } from '../../src/conformance/conformance.ts';
import { createSearchIndexParticipant } from '../../src/search/index.ts';

/** The R4 base and Kansas definitions the search tests index and search with, built once per test file. */
export const conformance: Conformance = loadConformance();

/** Every storage test runs on PGlite, and on PostgreSQL too when TEST_DATABASE_URL is set. */
export const searchTestDatabases: ('pglite' | 'postgres')[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/**
 * A migrated database for one test file: an in-memory PGlite, or a fresh schema in the
 * PostgreSQL at TEST_DATABASE_URL selected for every pooled connection through `options`
 * (dropped on close).
 */
export async function openSearchTestDatabase(kind: 'pglite' | 'postgres'): Promise<{ db: Database; repo: Repository; close(): Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openDatabase({});
    await migrate(db);
    return { db, repo: new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: 'http://example.org/fhir' })] }), close: () => db.close() };
  }
  const url = process.env.TEST_DATABASE_URL as string;
  const schema = `t_search_${randomBytes(5).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const separator = url.includes('?') ? '&' : '?';
  const db = await openDatabase({ databaseUrl: `${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`, maxConnections: 4 });
  await migrate(db);
  return {
    db,
    repo: new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: 'http://example.org/fhir' })] }),
    async close() {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

/** The real database, with the statements sent outside transactions counted. */
export function countingStatements(db: Database): Database & { statements: number } {
  const wrapper = {
    ...db,
    statements: 0,
    query: <R extends object>(sql: string, params?: readonly SqlParam[]) => {
      wrapper.statements += 1;
      return db.query<R>(sql, params);
    },
  };
  return wrapper;
}
