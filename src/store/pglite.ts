import fs from 'node:fs';
import path from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import type { Database, SqlExecutor, SqlParam } from './database.ts';
import { PgliteStatements } from './pglite-statements.ts';

/**
 * Embedded PostgreSQL (PGlite, WASM) in a data directory, or in memory when dataDir is undefined.
 * PGlite has one connection and queues statements itself; its `transaction()` holds that
 * connection for the whole callback, so interactions are serialized, which is what makes every
 * interaction atomic without row locks here.
 */
export async function openPglite(dataDir: string | undefined, dump?: Blob, sharedBuffersBytes?: number, template?: string): Promise<Database> {
  const release = dataDir ? lockDataDir(dataDir) : () => undefined;
  if (dataDir && template) copyTemplateIfNew(template, dataDir);
  // int8 as text, like node-postgres, so both drivers hand the same shapes to the store.
  const db = await PGlite.create(dataDir, {
    parsers: { [types.INT8]: (value: string) => value },
    loadDataDir: dump,
    // The buffers live in the WebAssembly memory, counted in full in the process's RSS (128 MB by
    // default); at 100,000 resources 32 MB answered the search benchmark as fast (bench/RESULTS.md).
    ...(sharedBuffersBytes ? { postgresqlconf: `shared_buffers = ${Math.floor(sharedBuffersBytes / 1024)}kB` } : {}),
  });
  // Statements are prepared (PgliteStatements) and run on their generic plan from the first run:
  // planning in the WASM backend costs 0.5-1.3 ms per search statement, more than running it, and
  // PostgreSQL's own choice (auto) kept re-planning the include and chained statements because
  // their generic estimates, with arrays of unknown length, look dearer. Measured at 100,000
  // resources (bench/RESULTS-search.md): generic plans were as fast or faster for every search
  // shape tried but one, a first page whose total counts 6,660 matches (65 ms against 45 ms);
  // importing 150 PCSP documents into a new database ran at the same rate with either.
  await db.exec('SET plan_cache_mode = force_generic_plan');
  const statements = new PgliteStatements(db);
  const executor = (target: Pick<PGlite, 'exec'>, inTransaction: boolean): SqlExecutor => ({
    query: <R extends object>(sql: string, params?: readonly SqlParam[]) => statements.query<R>(sql, params ?? [], inTransaction),
    exec: async (sql: string) => {
      await target.exec(sql);
    },
  });
  return {
    driver: 'pglite',
    concurrency: 1,
    ...executor(db, false),
    transaction: (fn) => db.transaction((tx) => fn(executor(tx, true))),
    close: async () => {
      await db.close();
      release();
    },
  };
}

/** Another live process holds the embedded database's data directory. */
export class DatabaseInUseError extends Error {}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite has no postmaster to keep a second process out of its data directory, and two
 * processes writing one directory corrupt it. A lock file with the owner's pid does that job; a
 * lock left by a process that no longer runs is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'kanplan.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
        throw new DatabaseInUseError(
          `The embedded database in ${dataDir} is in use by process ${owner} (a running kanplan server?). Stop it, or point the command at that server (--server URL).`,
        );
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`Could not lock the embedded database in ${dataDir}.`);
}

/**
 * A new data directory (no PG_VERSION yet) becomes a copy of `template`, a closed PGlite data
 * directory: PostgreSQL's data directories hold no absolute paths, so a copy opens as the
 * original would, without initdb (most of a first start's time). Runs under the directory's
 * lock; whatever else is already there (the lock, the auth keys) is kept.
 */
function copyTemplateIfNew(template: string, dataDir: string): void {
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  // PG_VERSION last: a copy cut short is not taken for a database at the next start.
  const entries = fs.readdirSync(template).filter((entry) => entry !== 'kanplan.lock' && entry !== 'PG_VERSION');
  for (const entry of [...entries, 'PG_VERSION']) {
    fs.cpSync(path.join(template, entry), path.join(dataDir, entry), { recursive: true });
  }
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

/**
 * Writes a consistent copy of the embedded database to `file` (a gzipped tarball of the data
 * directory, PGlite's dumpDataDir): the directory is locked like a server would lock it, so the
 * server must be stopped (one process owns the directory). Written to a temporary file first, so
 * a crash never leaves a half backup under the final name.
 */
export async function backupPglite(dataDir: string, file: string): Promise<number> {
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) throw new Error(`${dataDir} holds no embedded database (no PG_VERSION).`);
  const release = lockDataDir(dataDir);
  try {
    const bytes = Buffer.from(await (await dumpPglite(dataDir)).arrayBuffer());
    const partial = `${file}.partial`;
    fs.writeFileSync(partial, bytes);
    fs.renameSync(partial, file);
    return bytes.length;
  } finally {
    release();
  }
}

/** Restores a backup made by `backupPglite` into `dataDir`, which must be absent or empty. */
export async function restorePglite(file: string, dataDir: string): Promise<void> {
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new Error(`${dataDir} is not empty; restore into a new directory and point DATA_DIR at it (the current database is left as it is).`);
  }
  const release = lockDataDir(dataDir);
  try {
    const db = await PGlite.create(dataDir, { loadDataDir: new Blob([fs.readFileSync(file)]) });
    await db.close();
  } finally {
    release();
  }
}
