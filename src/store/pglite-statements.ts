import { messages, parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { SqlParam } from './database.ts';

interface PreparedStatement {
  readonly name: string;
  /** Type OIDs of $1..$n as the backend inferred them (ParameterDescription). */
  readonly paramTypes: readonly number[];
  /** When it was prepared (ms, the cache's clock). */
  readonly preparedAt: number;
  /** Runs since it was prepared. */
  runs: number;
}

export interface PgliteStatementOptions {
  /** How many statements stay prepared (least recently used are closed first). */
  readonly capacity?: number;
  /** How long a statement and its cached plan are used before it is prepared again. */
  readonly planLifetimeMs?: number;
  /** How many runs a statement and its cached plan serve before it is prepared again. */
  readonly planLifetimeRuns?: number;
  readonly now?: () => number;
}

type BackendMessage = Awaited<ReturnType<PGlite['execProtocol']>>['messages'][number];

/** Statement names are unique in the process, so two caches over one backend cannot collide. */
let statementNumber = 0;

/** How many named statements stay prepared in the embedded backend (least recently used go first). */
export const PGLITE_STATEMENT_CAPACITY = 256;

/**
 * A cached plan is not made again as tables grow, and PGlite gets no ANALYZE whose statistics
 * would invalidate it: a plan made on the nearly empty tables of a new database would otherwise
 * stay in use at 100,000 resources (PostgreSQL once kept such a plan, 3.5 s a run; see
 * docs/architecture.md). A statement is therefore prepared again after a minute or after 1,000
 * runs, whichever comes first: at most one planning per 1,000 runs (~1 µs a run), and during a
 * bulk load into a new database, when tables grow fastest, its plans follow within 1,000 statements.
 */
export const PGLITE_PLAN_LIFETIME_MS = 60_000;
export const PGLITE_PLAN_LIFETIME_RUNS = 1_000;

/**
 * Named prepared statements for the embedded database, run through PGlite's wire-protocol entry
 * point (`execProtocol`, https://pglite.dev/docs/api#execprotocol) instead of `query()`.
 *
 * Why: `query()` makes six calls into the WebAssembly backend per statement (Parse, Describe,
 * Bind, Describe, Execute, Sync) and has every statement parsed and planned again. Planning a
 * search statement there costs 0.5-1.3 ms, as much as running it (bench/RESULTS-search.md). Here a
 * statement is parsed once per SQL text and each run is one call with Bind, Describe, Execute and
 * Sync. Whether a run is planned for its values or uses the statement's cached generic plan
 * follows `plan_cache_mode` (https://www.postgresql.org/docs/current/sql-prepare.html#SQL-PREPARE-NOTES);
 * the embedded database sets it to the generic plan (src/store/pglite.ts).
 *
 * Parameters are serialized by the types the backend inferred for them, as `query()` does, so
 * rows, errors and type conversions are the same as before. A statement is prepared again after
 * PGLITE_PLAN_LIFETIME_MS or PGLITE_PLAN_LIFETIME_RUNS, so its plan follows the data's growth.
 */
export class PgliteStatements {
  /** By SQL text; Map order is recency of use, so the first key is the one to evict. */
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly db: PGlite;
  private readonly capacity: number;
  private readonly planLifetimeMs: number;
  private readonly planLifetimeRuns: number;
  private readonly now: () => number;

  constructor(db: PGlite, options: PgliteStatementOptions = {}) {
    this.db = db;
    this.capacity = options.capacity ?? PGLITE_STATEMENT_CAPACITY;
    this.planLifetimeMs = options.planLifetimeMs ?? PGLITE_PLAN_LIFETIME_MS;
    this.planLifetimeRuns = options.planLifetimeRuns ?? PGLITE_PLAN_LIFETIME_RUNS;
    this.now = options.now ?? (() => performance.now());
  }

  /** Runs one statement. Outside a transaction it waits for a running transaction to finish. */
  query<R extends object>(sql: string, params: readonly SqlParam[], inTransaction: boolean): Promise<R[]> {
    const run = (): Promise<R[]> => this.db._runExclusiveQuery(() => this.run<R>(sql, params, inTransaction));
    // PGlite has one connection: a statement outside a transaction must not run inside someone
    // else's, which its own query() prevents with the same transaction lock.
    return inTransaction ? run() : this.db._runExclusiveTransaction(run);
  }

  private isFresh(statement: PreparedStatement): boolean {
    return statement.runs < this.planLifetimeRuns && this.now() - statement.preparedAt < this.planLifetimeMs;
  }

  /** How many statements are prepared (tests). */
  get size(): number {
    return this.statements.size;
  }

  private async run<R extends object>(sql: string, params: readonly SqlParam[], inTransaction: boolean, retried = false): Promise<R[]> {
    const cached = this.statements.get(sql);
    this.statements.delete(sql);
    const statement = cached && this.isFresh(cached) ? cached : await this.prepare(sql, params, cached);
    statement.runs++;
    this.statements.set(sql, statement);
    const values = params.map((value, i) => this.serialize(value, statement.paramTypes[i]));
    const { serialize } = protocol;
    const result = await this.db.execProtocol(
      concat([serialize.bind({ statement: statement.name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
      { syncToFs: !inTransaction, throwOnError: false },
    );
    const error = databaseError(result.messages);
    if (error?.code === FEATURE_NOT_SUPPORTED && /cached plan must not change result type/.test(error.message) && !retried && !inTransaction) {
      // A table of the statement changed shape (a migration): prepare it again. Inside a
      // transaction the error has already aborted it, so it goes to the caller.
      this.statements.set(sql, { ...statement, preparedAt: Number.NEGATIVE_INFINITY });
      return this.run(sql, params, inTransaction, true);
    }
    if (error) {
      throw withStatement(error, sql, params);
    }
    return parse.parseResults(result.messages, this.db.parsers)[0].rows as R[];
  }

  /**
   * Parse + Describe in one call. The statement it replaces (expired) and, when the cache is full,
   * the least recently used one are closed in the same call.
   */
  private async prepare(sql: string, params: readonly SqlParam[], replaced?: PreparedStatement): Promise<PreparedStatement> {
    const { serialize } = protocol;
    const parts: Uint8Array[] = replaced ? [serialize.close({ type: 'S', name: replaced.name })] : [];
    while (this.statements.size >= this.capacity) {
      const [oldest, statement] = this.statements.entries().next().value as [string, PreparedStatement];
      this.statements.delete(oldest);
      parts.push(serialize.close({ type: 'S', name: statement.name }));
    }
    const name = `kanplan_${++statementNumber}`;
    parts.push(serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync());
    const result = await this.db.execProtocol(concat(parts), { syncToFs: false, throwOnError: false });
    const error = databaseError(result.messages);
    if (error) {
      throw withStatement(error, sql, params);
    }
    return { name, paramTypes: parse.parseDescribeStatementResults(result.messages), preparedAt: this.now(), runs: 0 };
  }

  private serialize(value: SqlParam, type: number | undefined): string | null {
    if (value === null || value === undefined) {
      return null;
    }
    const serializer = type === undefined ? undefined : this.db.serializers[type];
    return serializer ? (serializer(value) as string) : String(value);
  }
}

const FEATURE_NOT_SUPPORTED = '0A000';

function databaseError(received: readonly BackendMessage[]): messages.DatabaseError | undefined {
  return received.find((message): message is messages.DatabaseError => message instanceof messages.DatabaseError);
}

/** The error shaped as PGlite's `query()` throws it: with the statement and its parameters. */
function withStatement(error: messages.DatabaseError, sql: string, params: readonly SqlParam[]): messages.DatabaseError {
  return Object.assign(error, { query: sql, params });
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
