import { openDatabase, type Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';

/** The value after `name` on the command line (`--db postgres`), else the fallback. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

/**
 * A migrated database for an in-process benchmark: a new in-memory PGlite, or a PostgreSQL schema
 * of BENCH_DATABASE_URL (default the local test database) dropped and created afresh.
 */
export async function openBenchDatabase(kind: string, schema: string, maxConnections: number): Promise<Database> {
  if (kind === 'pglite') {
    const db = await openDatabase({});
    await migrate(db);
    return db;
  }
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.close();
  const db = await openDatabase({ databaseUrl: url, schema, maxConnections });
  await migrate(db);
  return db;
}
