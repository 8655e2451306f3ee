import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { CURRENT_ROW_COLUMNS, CurrentReads, type CurrentRow } from './current-reads.ts';
import type { Database, SqlExecutor } from './database.ts';
import { historyStatement } from './history-query.ts';
import type { PlannerStatistics } from './planner-statistics.ts';
import { NEXT_TX_NUMBER } from './transaction-points.ts';
import type { HistoryQuery, Repository, ResourceKey, StatementLimits, StoredVersion, VersionMethod } from './repository.ts';
import { StatementTimeoutError } from './store-errors.ts';
import { deletionVersion, nextVersion, writeVersions, type PendingVersion } from './version-statement.ts';
import type { WriteParticipant } from './write-participant.ts';

interface VersionRow extends CurrentRow {
  method?: string;
}

function toStoredVersion(row: VersionRow): StoredVersion {
  const content = row.content ?? undefined;
  let parsed: Resource | undefined;
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    tx: Number(row.tx),
    lastUpdated: new Date(row.last_updated).toISOString(),
    deleted: row.deleted,
    method: (row.method ?? (row.deleted ? 'DELETE' : 'PUT')) as VersionMethod,
    content,
    get resource() {
      if (parsed === undefined && content) parsed = JSON.parse(content) as Resource;
      return parsed;
    },
  };
}

export interface SqlRepositoryOptions {
  /** Kept in step with every write, in the write's own statement (the search index first). */
  readonly participants?: readonly WriteParticipant[];
  /** Keeps planner statistics current from the writes committed through this repository. */
  readonly statistics?: PlannerStatistics;
}

/**
 * The Repository over one SQL database (PGlite or PostgreSQL): a current-version table, an
 * append-only history table and the participants' tables, written in one transaction per
 * interaction.
 */
export class SqlRepository implements Repository {
  readonly db: Database;
  private readonly options: SqlRepositoryOptions;
  private readonly participants: readonly WriteParticipant[];
  private readonly tx: SqlExecutor | undefined;
  private txNumber: number | undefined;
  /** Versions written in this transaction and not yet sent (see `flush`). */
  private pending: PendingVersion[] = [];
  /** The transaction's executor, sending queued versions before each query. */
  private readonly flushing: SqlExecutor | undefined;
  private lastStatement: Promise<unknown> = Promise.resolve();
  /** Versions this transaction has sent, for the planner statistics once it commits. */
  private written = 0;
  /** Steps to run before this transaction commits, by key (beforeCommit). */
  private readonly pendingSteps = new Map<string, (repo: Repository) => Promise<void>>();
  /** Lock names this transaction holds (locks last until commit). */
  private readonly held = new Set<string>();
  /** Current versions read under lock ahead of their writes (lockCurrent), by `Type/id`; null: nothing stored. */
  private readonly lockedAhead = new Map<string, StoredVersion | null>();
  /** Coalesced primary-key reads of the root repository (undefined inside a transaction). */
  private readonly currentReads: CurrentReads | undefined;

  constructor(db: Database, options: SqlRepositoryOptions = {}, tx?: SqlExecutor) {
    this.db = db;
    this.options = options;
    this.participants = options.participants ?? [];
    this.tx = tx;
    // One statement of reads in flight per 8 pooled connections (1 for the default pool of 10):
    // at 50 clients reading by id, 1 gave 12,000-13,000 req/s, 2 gave 11,000 and 5 gave 10,000 on
    // this 2-core machine, since fewer, larger statements cost PostgreSQL less per read.
    this.currentReads = tx ? undefined : new CurrentReads(db, Math.max(1, Math.floor(db.concurrency / 8)));
    this.flushing = tx && {
      query: (sql, params) => this.inOrder(async () => {
        await this.flush();
        return tx.query(sql, params);
      }),
      exec: (sql) => this.inOrder(async () => {
        await this.flush();
        return tx.exec(sql);
      }),
    };
  }

  /**
   * Runs the transaction's statements one after another even when callers issue them together
   * (Promise.all): one connection runs one statement at a time, pg only queues them as a
   * deprecated courtesy, and the queued versions must be written before the next statement.
   */
  private inOrder<T>(statement: () => Promise<T>): Promise<T> {
    const run = this.lastStatement.then(statement);
    this.lastStatement = run.catch(() => undefined);
    return run;
  }

  /**
   * The SQL executor: the open transaction, or the database for single statements. Queries on
   * the transaction first write its queued versions, so every query sees every write before it.
   */
  get sql(): SqlExecutor {
    return this.flushing ?? this.db;
  }

  get inTransaction(): boolean {
    return this.tx !== undefined;
  }

  async transaction<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
    if (this.tx) {
      return fn(this);
    }
    let written = 0;
    const result = await this.db.transaction(async (tx) => {
      const repo = new SqlRepository(this.db, this.options, tx);
      const value = await fn(repo);
      await repo.runPendingSteps();
      await repo.inOrder(() => repo.flush());
      written = repo.written;
      return value;
    });
    if (written > 0) this.options.statistics?.noteWrites(written);
    return result;
  }

  beforeCommit(key: string, step: (repo: Repository) => Promise<void>): void {
    if (!this.tx) {
      throw new Error('beforeCommit needs a repository bound to a transaction');
    }
    if (!this.pendingSteps.has(key)) this.pendingSteps.set(key, step);
  }

  /** The steps queued with beforeCommit, in order, until none is left. */
  private async runPendingSteps(): Promise<void> {
    for (let next = this.pendingSteps.entries().next(); !next.done; next = this.pendingSteps.entries().next()) {
      const [key, step] = next.value;
      this.pendingSteps.delete(key);
      await step(this);
    }
  }

  private async nextTx(): Promise<number> {
    if (this.txNumber === undefined) {
      const [row] = await this.sql.query<{ tx: string }>(NEXT_TX_NUMBER);
      this.txNumber = Number(row.tx);
    }
    return this.txNumber;
  }

  async readCurrent(resourceType: string, id: string, lock = false): Promise<StoredVersion | undefined> {
    const ahead = lock ? this.lockedAhead.get(`${resourceType}/${id}`) : undefined;
    if (ahead !== undefined) {
      // Used once: after this read the transaction writes it, and a later read must see that.
      this.lockedAhead.delete(`${resourceType}/${id}`);
      return ahead ?? undefined;
    }
    if (this.currentReads && !lock) {
      const row = await this.currentReads.read(resourceType, id);
      return row && toStoredVersion(row);
    }
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${CURRENT_ROW_COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [resourceType, id],
    );
    return rows[0] && toStoredVersion(rows[0]);
  }

  async lockCurrent(keys: readonly ResourceKey[]): Promise<void> {
    if (!this.tx) {
      throw new Error('Rows are locked until commit: lock them inside transaction()');
    }
    const wanted = [...new Set(keys.map((key) => `${key.resourceType}/${key.id}`))].filter((key) => !this.lockedAhead.has(key)).sort();
    if (wanted.length === 0) return;
    const types = wanted.map((key) => key.slice(0, key.indexOf('/')));
    const ids = wanted.map((key) => key.slice(key.indexOf('/') + 1));
    // Locked in key order, as `lock` takes names: two transactions locking overlapping rows wait, never deadlock.
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${CURRENT_ROW_COLUMNS} FROM resource WHERE (resource_type, id) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY resource_type, id FOR UPDATE`,
      [types, ids],
    );
    for (const key of wanted) this.lockedAhead.set(key, null);
    for (const row of rows) this.lockedAhead.set(`${row.resource_type}/${row.id}`, toStoredVersion(row));
  }

  async readVersion(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${CURRENT_ROW_COLUMNS}, method FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
      [resourceType, id, versionId],
    );
    return rows[0] && toStoredVersion(rows[0]);
  }

  async readMany(keys: readonly ResourceKey[]): Promise<Resource[]> {
    if (keys.length === 0) {
      return [];
    }
    const rows = await this.sql.query<{ content: string }>(
      `SELECT r.content FROM resource r
       JOIN unnest($1::text[], $2::text[]) AS k(resource_type, id) ON r.resource_type = k.resource_type AND r.id = k.id
       WHERE NOT r.deleted`,
      [keys.map((key) => key.resourceType), keys.map((key) => key.id)],
    );
    return rows.map((row) => JSON.parse(row.content) as Resource);
  }

  async history(query: HistoryQuery): Promise<StoredVersion[]> {
    const { sql, params } = historyStatement(query);
    return (await this.sql.query<VersionRow>(sql, params)).map(toStoredVersion);
  }

  async everStored(resourceType: string): Promise<boolean> {
    const rows = await this.sql.query('SELECT 1 FROM resource WHERE resource_type = $1 LIMIT 1', [resourceType]);
    return rows.length > 0;
  }

  /**
   * Queues the version: it is written with the transaction's other queued versions in one
   * statement, before the transaction's next query or its COMMIT (see `flush`).
   */
  async writeVersion(next: Resource & { id: string }, previous: StoredVersion | undefined, method: Exclude<VersionMethod, 'DELETE'>): Promise<Resource> {
    const version = nextVersion(next, previous, method);
    this.lockedAhead.delete(`${next.resourceType}/${next.id}`);
    if (!this.tx) {
      if (previous) {
        throw new Error(`${next.resourceType}/${next.id}: a version after an existing one is written in the transaction that read it under lock`);
      }
      // Alone, a create is one statement (atomic by itself): one round trip instead of four.
      await writeVersions(this.db, [version], null, this.participants);
      this.options.statistics?.noteWrites(1);
      return version.resource as Resource;
    }
    await this.nextTx();
    this.pending.push(version);
    return version.resource as Resource;
  }

  async writeNewVersions(resources: readonly (Resource & { id: string })[]): Promise<Resource[]> {
    const versions = resources.map((resource) => nextVersion(resource, undefined, 'POST'));
    for (const resource of resources) this.lockedAhead.delete(`${resource.resourceType}/${resource.id}`);
    if (!this.tx) {
      await writeVersions(this.db, versions, null, this.participants);
      this.options.statistics?.noteWrites(versions.length);
    } else {
      await this.nextTx();
      this.pending.push(...versions);
    }
    return versions.map((version) => version.resource as Resource);
  }

  async writeDeletion(previous: StoredVersion): Promise<StoredVersion> {
    if (!this.tx) {
      throw new Error(`${previous.resourceType}/${previous.id}: a delete is written in the transaction that read the previous version under lock`);
    }
    const tx = await this.nextTx();
    const version = deletionVersion(previous);
    this.lockedAhead.delete(`${previous.resourceType}/${previous.id}`);
    this.pending.push(version);
    return { ...previous, versionId: version.versionId, tx, lastUpdated: version.lastUpdated, deleted: true, method: 'DELETE', content: undefined, resource: undefined };
  }

  /** Writes the queued versions (see version-statement.ts). */
  private async flush(): Promise<void> {
    if (!this.tx || this.pending.length === 0) {
      return;
    }
    const versions = this.pending;
    this.pending = [];
    this.written += versions.length;
    await writeVersions(this.tx, versions, this.txNumber as number, this.participants);
  }

  async create(resource: Resource, id: string = randomUUID()): Promise<Resource> {
    return this.writeVersion({ ...resource, id }, undefined, 'POST');
  }

  async update(resource: Resource & { id: string }): Promise<{ resource: Resource; created: boolean; previous?: StoredVersion }> {
    return this.transaction(async (repo) => {
      const previous = await repo.readCurrent(resource.resourceType, resource.id, true);
      const stored = await repo.writeVersion(resource, previous, 'PUT');
      return { resource: stored, created: !previous || previous.deleted, previous };
    });
  }

  async delete(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.transaction(async (repo) => {
      const previous = await repo.readCurrent(resourceType, id, true);
      return previous && !previous.deleted ? repo.writeDeletion(previous) : undefined;
    });
  }

  async lock(names: readonly string[]): Promise<void> {
    if (!this.tx) {
      throw new Error('Locks are held until commit: take them inside transaction()');
    }
    const missing = [...new Set(names)].filter((name) => !this.held.has(name)).sort();
    if (missing.length === 0) {
      return;
    }
    // Transaction-scoped advisory locks (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS),
    // taken in sorted order in one statement.
    await this.sql.query(
      missing.length === 1 ? 'SELECT pg_advisory_xact_lock(hashtext($1))' : 'SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($1::text[]) AS k ORDER BY k',
      [missing.length === 1 ? missing[0] : missing],
    );
    missing.forEach((name) => this.held.add(name));
  }

  async withStatementLimits<T>(limits: StatementLimits, fn: (repo: Repository) => Promise<T>): Promise<T> {
    const { timeoutMs, singleWorker = false } = limits;
    // PGlite runs in this thread and never interrupts a statement (measured: a 50 ms
    // statement_timeout let an 18 s statement finish), so the limits are PostgreSQL's alone.
    if ((timeoutMs <= 0 && !singleWorker) || this.db.driver !== 'postgres') return fn(this);
    // SET LOCAL semantics (is_local = true): a setting ends with the transaction; inside an
    // enclosing one (a batch entry) the previous values are put back afterwards, so only there
    // are they read first (two statements fewer for an ordinary search).
    const settings: [string, string][] = [];
    if (timeoutMs > 0) settings.push(['statement_timeout', `${timeoutMs}ms`]);
    if (singleWorker) settings.push(['max_parallel_workers_per_gather', '0']);
    const names = settings.map(([name]) => name);
    const apply = (repo: Repository, values: readonly string[]) =>
      repo.sql.query('SELECT set_config(name, value, true) FROM unnest($1::text[], $2::text[]) AS s(name, value)', [names, values]);
    try {
      const enclosing = this.tx !== undefined;
      return await this.transaction(async (repo) => {
        const [previous] = enclosing
          ? await repo.sql.query<{ values: string[] }>('SELECT array_agg(current_setting(name) ORDER BY ord) AS values FROM unnest($1::text[]) WITH ORDINALITY AS s(name, ord)', [names])
          : [];
        await apply(repo, settings.map(([, value]) => value));
        const result = await fn(repo);
        if (previous) await apply(repo, previous.values);
        return result;
      });
    } catch (err) {
      // SQLSTATE 57014 query_canceled: https://www.postgresql.org/docs/current/errcodes-appendix.html
      if ((err as { code?: unknown }).code === '57014') throw new StatementTimeoutError(timeoutMs);
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }
}
