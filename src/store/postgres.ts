import pg from 'pg';
import type { Database, SqlExecutor, SqlParam } from './database.ts';
import { ConcurrentWriteError, DatabaseUnavailableError } from './store-errors.ts';

/**
 * SQLSTATEs that mean the server is gone or not taking connections: class 08 (connection
 * exception), 57P01-57P03 (terminated by an administrator, crash shutdown, cannot connect now),
 * 53300 (too many connections), 3D000 (no such database) and 55000 from a database that does not
 * accept connections (https://www.postgresql.org/docs/current/errcodes-appendix.html).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300|3D000)$/;
/** Socket errors of a refused, reset or timed-out connection. */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Whether err says the database cannot be reached, rather than that a statement failed. */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  if (code === '55000' && /not currently accepting connections/.test(err.message)) return true;
  // pg's own messages when a connection is closed under it, which carry no code.
  return /^Connection terminated|^Client has encountered a connection error|timeout exceeded when trying to connect/.test(err.message);
}

/** SQLSTATE 40P01 deadlock_detected, 40001 serialization_failure: the transaction was the victim. */
const CONCURRENCY_SQLSTATE = new Set(['40P01', '40001']);

/** The driver's error as a store error where it has a meaning above the store (out of reach, concurrency victim). */
function storeError(err: unknown): unknown {
  if (isUnavailable(err)) return new DatabaseUnavailableError(err);
  if (err instanceof Error && CONCURRENCY_SQLSTATE.has((err as { code?: string }).code ?? '')) return new ConcurrentWriteError(err);
  return err;
}

/**
 * Distinct statement texts that get a name, per process. Each pooled connection prepares a named
 * statement once and keeps it, so the bound keeps the plans a backend holds bounded too; texts
 * beyond it run as unnamed statements (parsed and planned on every call, as before).
 */
const MAX_NAMED_STATEMENTS = 200;
/** A text is named from its third use on, so one-off statements don't use up the names. */
const USES_BEFORE_NAMING = 2;
const MAX_COUNTED_STATEMENTS = 10_000;

/**
 * Names parameterized statements by their text. PostgreSQL parses and analyzes an unnamed
 * statement on every execution; a named one once per connection
 * (https://www.postgresql.org/docs/current/sql-prepare.html). Plans are still made for each
 * execution's values (plan_cache_mode = force_custom_plan, set on every connection): a generic
 * plan chosen while the tables were small stays cached as they grow — measured: the batched
 * identifier match of a document import went from a fraction of a millisecond to 3.5 s on a
 * database loaded from empty. On the 2-core machine a primary-key read costs the server ~85 µs
 * of CPU named against ~115 µs unnamed.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private readonly uses = new Map<string, number>();
  private readonly max: number;

  constructor(max = MAX_NAMED_STATEMENTS) {
    this.max = max;
  }

  nameFor(sql: string): string | undefined {
    const name = this.names.get(sql);
    if (name !== undefined || this.names.size >= this.max) {
      return name;
    }
    const uses = (this.uses.get(sql) ?? 0) + 1;
    if (uses <= USES_BEFORE_NAMING) {
      if (this.uses.size >= MAX_COUNTED_STATEMENTS) this.uses.clear();
      this.uses.set(sql, uses);
      return undefined;
    }
    this.uses.delete(sql);
    const named = `kanplan_${this.names.size}`;
    this.names.set(sql, named);
    return named;
  }
}

/**
 * The connection string with server settings for every connection added to its `options`: the
 * schema and custom plans (see StatementNames). pg lets a URL's `options` win over the `options`
 * setting, so they are joined into the URL.
 */
function withConnectionOptions(connectionString: string, schema: string | undefined): string {
  const settings = [schema ? `-c search_path=${schema}` : '', '-c plan_cache_mode=force_custom_plan'].filter(Boolean).join(' ');
  const url = new URL(connectionString);
  url.searchParams.set('options', [url.searchParams.get('options') ?? '', settings].filter(Boolean).join(' '));
  return url.toString();
}

/** PostgreSQL through a `pg` pool: each transaction holds one pooled client from BEGIN to COMMIT. */
export async function openPostgres(connectionString: string, max: number, schema?: string): Promise<Database> {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new Error(`Invalid schema name ${schema}`);
  }
  const pool = new pg.Pool({ connectionString: withConnectionOptions(connectionString, schema), max });
  // A dropped idle connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);
  const statements = new StatementNames();
  const executor = (client: pg.Pool | pg.PoolClient): SqlExecutor => ({
    query: async <R extends object>(sql: string, params?: readonly SqlParam[]) => {
      try {
        const statement = params && params.length > 0 ? { text: sql, values: params as unknown[], name: statements.nameFor(sql) } : { text: sql, values: params as unknown[] | undefined };
        return (await client.query<R>(statement)).rows;
      } catch (err) {
        throw storeError(err);
      }
    },
    exec: async (sql: string) => {
      await client.query(sql).catch((err: unknown) => {
        throw storeError(err);
      });
    },
  });
  await pool.query('SELECT 1');
  return {
    driver: 'postgres',
    concurrency: max,
    ...executor(pool),
    async transaction(fn) {
      const client = await pool.connect().catch((err: unknown) => {
        throw storeError(err);
      });
      let broken: Error | undefined;
      // pg-pool takes its own error listener off a client while it is checked out, and a client
      // whose connection drops between two statements (PostgreSQL restarted or stopped while the
      // transaction runs its JavaScript) emits 'error': with no listener that is an uncaught
      // exception, which ended the process. The next statement fails with the same cause.
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection the server closed goes back to the pool destroyed, not for reuse.
        if (err instanceof DatabaseUnavailableError || isUnavailable(err)) broken = err as Error;
        await client.query('ROLLBACK').catch(() => undefined);
        throw storeError(err);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
