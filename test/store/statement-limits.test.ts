import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openSearchTestDatabase, searchTestDatabases } from '../search/db.ts';

/**
 * Repository.withStatementLimits (src/store/sql-repository.ts): the settings hold for the work
 * inside and end with it, on PostgreSQL; the embedded database runs the work as it is.
 */
describe.each(searchTestDatabases)('statement limits on %s', (kind) => {
  let store: Awaited<ReturnType<typeof openSearchTestDatabase>>;
  beforeAll(async () => {
    store = await openSearchTestDatabase(kind);
  });
  afterAll(async () => {
    await store?.close();
  });

  const settings = async (sql: typeof store.repo.sql) =>
    (await sql.query<{ timeout: string; workers: string }>("SELECT current_setting('statement_timeout') AS timeout, current_setting('max_parallel_workers_per_gather') AS workers"))[0];

  test('a costly search runs without parallel workers and within its timeout; both settings end with it', async () => {
    const before = await settings(store.repo.sql);
    const inside = await store.repo.withStatementLimits({ timeoutMs: 1234, singleWorker: true }, (repo) => settings(repo.sql));
    if (kind === 'postgres') {
      expect(inside).toEqual({ timeout: '1234ms', workers: '0' });
    } else {
      expect(inside).toEqual(before);
    }
    expect(await settings(store.repo.sql)).toEqual(before);
  });

  test('a plain search keeps the parallel workers and gets only the timeout; inside a transaction the previous values come back', async () => {
    await store.repo.transaction(async (outer) => {
      const before = await settings(outer.sql);
      const inside = await outer.withStatementLimits({ timeoutMs: 500 }, (repo) => settings(repo.sql));
      if (kind === 'postgres') expect(inside).toEqual({ timeout: '500ms', workers: before.workers });
      expect(await settings(outer.sql)).toEqual(before);
    });
  });
});
