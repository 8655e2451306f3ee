import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SqlExecutor, SqlParam } from '../../src/store/database.ts';
import { CurrentReads } from '../../src/store/current-reads.ts';
import { openSearchTestDatabase, searchTestDatabases } from '../search/db.ts';

/** The real database, with the statements sent through it counted. */
function counted(db: SqlExecutor): SqlExecutor & { statements: number } {
  const executor = {
    statements: 0,
    query: <R extends object>(sql: string, params?: readonly SqlParam[]) => {
      executor.statements += 1;
      return db.query<R>(sql, params);
    },
    exec: (sql: string) => db.exec(sql),
  };
  return executor;
}

describe.each(searchTestDatabases)('coalesced current-version reads on %s', (kind) => {
  let store: Awaited<ReturnType<typeof openSearchTestDatabase>>;
  const ids: string[] = [];
  beforeAll(async () => {
    store = await openSearchTestDatabase(kind);
    for (let i = 0; i < 30; i++) {
      ids.push((await store.repo.create({ resourceType: 'Patient', gender: 'other', birthDate: `1950-01-${String(i + 1).padStart(2, '0')}` } as Patient)).id as string);
    }
  });
  afterAll(async () => {
    await store?.close();
  });

  test('reads asked for together while one is in flight go in one statement, each answered with its own row', async () => {
    const db = counted(store.db);
    const reads = new CurrentReads(db, 1);
    const rows = await Promise.all([...ids.map((id) => reads.read('Patient', id)), reads.read('Patient', ids[3]), reads.read('Patient', 'no-such-id')]);
    // The first read goes alone at once; the other 31 wait for it and then go together.
    expect(db.statements).toBe(2);
    expect(rows.slice(0, 30).map((row) => row?.id)).toEqual(ids);
    expect(rows.slice(0, 30).map((row) => (JSON.parse(row?.content ?? '{}') as Patient).birthDate)).toEqual(ids.map((_, i) => `1950-01-${String(i + 1).padStart(2, '0')}`));
    expect(rows[30]?.id).toBe(ids[3]);
    expect(rows[31]).toBeUndefined();
  });

  test('a lone read is sent at once, and a read made after a write sees it', async () => {
    const db = counted(store.db);
    const reads = new CurrentReads(db, 2);
    const updated = await store.repo.update({ resourceType: 'Patient', id: ids[0], gender: 'female' } as Patient & { id: string });
    const row = await reads.read('Patient', ids[0]);
    expect(db.statements).toBe(1);
    expect(row?.version_id).toBe(Number(updated.resource.meta?.versionId));
    expect((JSON.parse(row?.content ?? '{}') as Patient).gender).toBe('female');
  });

  test('a failing statement rejects every read in it, and later reads still work', async () => {
    const closed = await openSearchTestDatabase(kind);
    await closed.close();
    const reads = new CurrentReads(closed.db, 1);
    const results = await Promise.allSettled([reads.read('Patient', ids[1]), reads.read('Patient', ids[2])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const working = new CurrentReads(store.db, 1);
    expect((await working.read('Patient', ids[1]))?.id).toBe(ids[1]);
  });

  test('the repository reads by id through them outside a transaction, and under lock inside one', async () => {
    const [a, b] = await Promise.all([store.repo.readCurrent('Patient', ids[5]), store.repo.readCurrent('Patient', ids[6])]);
    expect([a?.id, b?.id]).toEqual([ids[5], ids[6]]);
    expect(a?.resource?.resourceType).toBe('Patient');
    const locked = await store.repo.transaction((tx) => tx.readCurrent('Patient', ids[5], true));
    expect(locked?.versionId).toBe(a?.versionId);
  });
});
