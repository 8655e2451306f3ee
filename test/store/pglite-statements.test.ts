import { PGlite, types } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PgliteStatements } from '../../src/store/pglite-statements.ts';

describe('prepared statements on the embedded database', () => {
  let db: PGlite;

  beforeAll(async () => {
    db = await PGlite.create(undefined, { parsers: { [types.INT8]: (value: string) => value } });
    await db.exec('CREATE TABLE item (id text PRIMARY KEY, n int8, at timestamptz, tags text[], ok boolean, amount numeric)');
  });
  afterAll(async () => db.close());

  const ROW_SQL = 'SELECT $1::text AS id, 9007199254740993::int8 AS n, $2::timestamptz AS at, $3::text[] AS tags, $4::boolean AS ok, $5::numeric AS amount, $6::text AS missing';
  const ROW_PARAMS = ['a', new Date('2026-01-02T03:04:05.678Z'), ['x', null, 'y"z,'], true, 1.25, null];

  test('return the rows and types that PGlite query() returns, for every parameter kind', async () => {
    const statements = new PgliteStatements(db);
    const expected = (await db.query(ROW_SQL, ROW_PARAMS)).rows;
    const rows = await statements.query(ROW_SQL, ROW_PARAMS, false);
    expect(rows).toEqual(expected);
    expect(rows[0]).toMatchObject({ id: 'a', n: '9007199254740993', tags: ['x', null, 'y"z,'], ok: true, amount: '1.25', missing: null });
    expect((rows[0] as { at: Date }).at.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  test('parse a SQL text once and run it again by name', async () => {
    const statements = new PgliteStatements(db);
    for (let i = 0; i < 7; i++) {
      expect(await statements.query('SELECT $1::int + 1 AS next', [i], false)).toEqual([{ next: i + 1 }]);
    }
    expect(statements.size).toBe(1);
    const [prepared] = await statements.query<{ generic_plans: string; custom_plans: string }>(
      `SELECT generic_plans::text, custom_plans::text FROM pg_prepared_statements WHERE statement = 'SELECT $1::int + 1 AS next'`,
      [],
      false,
    );
    // Seven runs of one prepared statement: PostgreSQL plans the first five for their values, then
    // may settle on the generic plan (plan_cache_mode = auto); either way it was parsed once.
    expect(Number(prepared.generic_plans) + Number(prepared.custom_plans)).toBe(7);
  });

  test('close the least recently used statement when full, and prepare it again when it comes back', async () => {
    const statements = new PgliteStatements(db, { capacity: 3 });
    const names = async (): Promise<number> =>
      Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT % AS v%'`)).rows[0].n);
    const before = await names();
    for (const v of [1, 2, 3, 1, 4, 5, 1]) {
      expect(await statements.query(`SELECT ${v} AS v${v}`, [], false)).toEqual([{ [`v${v}`]: v }]);
    }
    expect(statements.size).toBe(3);
    // 1 stayed in use, so 2 and 3 were closed in the backend too, not only forgotten.
    expect((await names()) - before).toBe(3);
  });

  test('report a statement the backend rejects as PGlite does, and keep nothing prepared for it', async () => {
    const statements = new PgliteStatements(db);
    const error = await statements.query('SELEC 1', [], false).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: '42601', query: 'SELEC 1' });
    expect(statements.size).toBe(0);
    await db.query(`INSERT INTO item (id) VALUES ('dup')`);
    const insert = 'INSERT INTO item (id) VALUES ($1)';
    await expect(statements.query(insert, ['dup'], false)).rejects.toMatchObject({ code: '23505', params: ['dup'] });
    // The statement itself was fine: it stays prepared and runs again.
    expect(statements.size).toBe(1);
    await statements.query(insert, ['new'], false);
    expect((await db.query(`SELECT id FROM item WHERE id = 'new'`)).rows).toHaveLength(1);
  });

  test('a statement outside a transaction waits for a running transaction to end', async () => {
    const statements = new PgliteStatements(db);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const transaction = db.transaction(async () => {
      await statements.query(`INSERT INTO item (id) VALUES ('uncommitted')`, [], true);
      entered();
      await held;
      throw new Error('roll back');
    });
    await inside;
    const outside = statements.query<{ id: string }>(`SELECT id FROM item WHERE id = 'uncommitted'`, [], false);
    release();
    await expect(transaction).rejects.toThrow('roll back');
    // Run inside the transaction it would have seen the row; after the rollback it is gone.
    expect(await outside).toEqual([]);
  });

  test('a table that changes shape under a prepared statement is prepared again', async () => {
    const statements = new PgliteStatements(db);
    await db.exec('CREATE TABLE shape (a int)');
    await db.exec('INSERT INTO shape VALUES (1)');
    expect(await statements.query('SELECT * FROM shape', [], false)).toEqual([{ a: 1 }]);
    await db.exec('ALTER TABLE shape ADD COLUMN b int');
    expect(await statements.query('SELECT * FROM shape', [], false)).toEqual([{ a: 1, b: null }]);
  });

  test('a statement is prepared again once its plan lifetime is over, and the old one is closed', async () => {
    let clock = 0;
    const statements = new PgliteStatements(db, { planLifetimeMs: 1000, now: () => clock });
    const sql = 'SELECT count(*)::int AS n FROM item WHERE id > $1';
    const preparedNames = async (): Promise<string[]> =>
      (await db.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE statement = $1', [sql])).rows.map((row) => row.name);
    await statements.query(sql, [''], false);
    const [first] = await preparedNames();
    clock = 999;
    await statements.query(sql, [''], false);
    expect(await preparedNames()).toEqual([first]);
    clock = 1000;
    const [row] = await statements.query<{ n: number }>(sql, [''], false);
    expect(row.n).toBeGreaterThan(0);
    const names = await preparedNames();
    expect(names).toHaveLength(1);
    expect(names[0]).not.toBe(first);
    expect(statements.size).toBe(1);
  });

  test('a statement is prepared again after its run budget, whatever the clock says', async () => {
    const statements = new PgliteStatements(db, { planLifetimeRuns: 3, now: () => 0 });
    const sql = 'SELECT count(*)::int AS n FROM item WHERE id < $1';
    const preparedNames = async (): Promise<string[]> =>
      (await db.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE statement = $1', [sql])).rows.map((row) => row.name);
    const seen = new Set<string>();
    for (let run = 0; run < 7; run++) {
      await statements.query(sql, ['z'], false);
      const names = await preparedNames();
      expect(names).toHaveLength(1);
      seen.add(names[0]);
    }
    // Runs 1-3 on the first statement, 4-6 on the second, 7 on the third.
    expect(seen.size).toBe(3);
  });
});
