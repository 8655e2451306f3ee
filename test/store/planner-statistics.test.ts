import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSearchIndexParticipant } from '../../src/search/index.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { PlannerStatistics } from '../../src/store/planner-statistics.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from '../search/db.ts';

describe.each(searchTestDatabases)('planner statistics on %s', (kind) => {
  let store: Awaited<ReturnType<typeof openSearchTestDatabase>>;
  beforeAll(async () => {
    store = await openSearchTestDatabase(kind);
  });
  afterAll(async () => {
    await store?.close();
  });

  const analyzedRows = async (): Promise<number> =>
    Number((await store.db.query<{ rows: number }>("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'resource'::regclass"))[0].rows);

  test.runIf(kind === 'pglite')('are kept on PGlite too, which has no autovacuum (its generic plans need them, issue 23)', async () => {
    expect(await PlannerStatistics.needed(store.db)).toBe(true);
  });

  test('committed writes past the threshold ANALYZE the resource and index tables, and fewer do not', async () => {
    const statistics = new PlannerStatistics(store.db);
    const kept = new SqlRepository(store.db, { participants: [createSearchIndexParticipant(conformance.searchParameters)], statistics });
    const writePatients = async (count: number, batch: number): Promise<void> => {
      for (let i = 0; i < count; i += batch) {
        await kept.transaction(async (repo) => {
          for (let j = 0; j < batch; j++) await repo.create({ resourceType: 'Patient', gender: 'other' } as Patient);
        });
      }
    };
    const before = await analyzedRows();
    await writePatients(100, 50);
    await statistics.settled();
    expect(await analyzedRows()).toBe(before);

    await writePatients(500, 50);
    await statistics.settled();
    // The ANALYZE ran once the 500th write was passed (after 550), not later.
    expect(await analyzedRows()).toBeGreaterThan(500);
    const tokenStats = await store.db.query("SELECT 1 FROM pg_stats WHERE tablename = 'sp_token' AND attname = 'value' AND schemaname = current_schema()");
    expect(tokenStats.length).toBe(1);
  });

  test.runIf(kind === 'pglite')('a database loaded without them, or grown by 10% since, is analyzed at start, and they outlive a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kanplan-statistics-'));
    const statsOf = async (db: Database): Promise<number> =>
      (await db.query("SELECT 1 FROM pg_stats WHERE tablename IN ('sp_token', 'sp_reference') AND schemaname = current_schema()")).length;
    try {
      let db = await openDatabase({ dataDir: dir });
      await migrate(db);
      // Written without statistics kept, as by a process that does not keep them.
      const plain = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters)] });
      for (let i = 0; i < 6; i++) {
        await plain.transaction(async (repo) => {
          for (let j = 0; j < 100; j++) await repo.create({ resourceType: 'Patient', gender: 'other' } as Patient);
        });
      }
      expect(await statsOf(db)).toBe(0);
      const statistics = new PlannerStatistics(db);
      await statistics.start();
      await statistics.settled();
      expect(await statsOf(db)).toBeGreaterThan(0);
      await db.close();
      db = await openDatabase({ dataDir: dir });
      expect(await statsOf(db)).toBeGreaterThan(0);
      // Grown by more than 10% while no process kept statistics: analyzed again at the next start.
      const more = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters)] });
      await more.transaction(async (repo) => {
        for (let j = 0; j < 300; j++) await repo.create({ resourceType: 'Patient', gender: 'other' } as Patient);
      });
      const rowsOf = async (): Promise<number> => Number((await db.query<{ rows: number }>("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'resource'::regclass"))[0].rows);
      expect(await rowsOf()).toBeLessThan(700);
      const again = new PlannerStatistics(db);
      await again.start();
      await again.settled();
      expect(await rowsOf()).toBeGreaterThan(800);
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
