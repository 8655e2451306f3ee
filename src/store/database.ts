/**
 * The SQL seam of the store: one PostgreSQL dialect, two drivers (embedded PGlite and PostgreSQL
 * through `pg`). Everything above this interface is driver-agnostic.
 */
export type SqlParam = string | number | boolean | null | Date | readonly (string | null)[] | readonly number[];

/** A statement with its parameters (`$1` …), built in one tier and run by the store inside another statement. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

export interface SqlExecutor {
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
  /** Runs a multi-statement script without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends SqlExecutor {
  readonly driver: 'pglite' | 'postgres';
  /** How many statements can run at once: the pool size, or 1 for PGlite (one WASM instance). */
  readonly concurrency: number;
  /** Runs fn in one SQL transaction: committed if fn resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  /** PGlite's shared_buffers in bytes (PostgreSQL's default, 128 MB, when absent). */
  readonly sharedBuffersBytes?: number;
  /** Pool size for PostgreSQL. */
  readonly maxConnections?: number;
  /** PostgreSQL schema to work in (search_path); tests isolate themselves this way. */
  readonly schema?: string;
  /** An in-memory PGlite database restored from a dump (tests start from a migrated template). */
  readonly pgliteDump?: Blob;
  /** A PGlite data directory copied into `dataDir` when that holds no database yet (src/server/embedded-template.ts). */
  readonly pgliteTemplate?: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const { openPostgres } = await import('./postgres.ts');
    return openPostgres(options.databaseUrl, options.maxConnections ?? 10, options.schema);
  }
  const { openPglite } = await import('./pglite.ts');
  return openPglite(options.dataDir, options.pgliteDump, options.sharedBuffersBytes, options.pgliteTemplate);
}
