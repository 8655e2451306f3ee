import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listMigrations, migrate } from '../../src/store/migrate.ts';
import type { Database } from '../../src/store/database.ts';
import { openTestDatabase, testDatabases } from '../harness.ts';

describe.each(testDatabases)('migrations on %s', (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('every migration is recorded once, in order, and a second run applies nothing', async () => {
    const rows = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migration ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(listMigrations().map((m) => m.version));
    expect(await migrate(db)).toEqual([]);
  });

  test('a failing migration applies nothing of itself and leaves the recorded version unchanged', async () => {
    const broken = [...listMigrations(), { version: 999, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELECT no_such_function();' }];
    await expect(migrate(db, broken)).rejects.toThrow();
    const tables = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
    expect(tables).toHaveLength(0);
    const versions = await db.query<{ version: number }>('SELECT version FROM schema_migration WHERE version = 999');
    expect(versions).toHaveLength(0);
  });
});
