import fs from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { Database, SqlExecutor, SqlParam } from './database.ts';

/**
 * Embedded PostgreSQL (PGlite, WASM) in a data directory, or in memory when dataDir is undefined.
 * PGlite has one connection and queues statements itself; its `transaction()` holds that
 * connection for the whole callback, so interactions are serialized, which is what makes every
 * interaction atomic without row locks here.
 */
export async function openPglite(dataDir: string | undefined, dump?: Blob): Promise<Database> {
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
  }
  // int8 as text, like node-postgres, so both drivers hand the same shapes to the store.
  const db = await PGlite.create(dataDir, {
    parsers: { [types.INT8]: (value: string) => value },
    loadDataDir: dump,
  });
  const executor = (target: Pick<PGlite, 'query' | 'exec'>): SqlExecutor => ({
    query: async <R extends object>(sql: string, params?: readonly SqlParam[]) =>
      (await target.query<R>(sql, params as unknown[] | undefined)).rows,
    exec: async (sql: string) => {
      await target.exec(sql);
    },
  });
  return {
    driver: 'pglite',
    ...executor(db),
    transaction: (fn) => db.transaction((tx) => fn(executor(tx))),
    close: () => db.close(),
  };
}

/** A compressed dump of a PGlite database, restorable with `openDatabase({ pgliteDump })`. */
export async function dumpPglite(dataDir: string): Promise<Blob> {
  const db = await PGlite.create(dataDir);
  try {
    return await db.dumpDataDir('gzip');
  } finally {
    await db.close();
  }
}
