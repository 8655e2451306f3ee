import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { Database, SqlExecutor, SqlParam } from './database.ts';
import { conflict, preconditionFailed } from '../outcomes.ts';
import { CURRENT_ROW_COLUMNS, CurrentReads, type CurrentRow } from './current-reads.ts';
import type { PlannerStatistics } from './planner-statistics.ts';

/** One stored version of a resource; `resource` is absent for a delete marker. */
export interface StoredVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly tx: number;
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The version as stored (JSON text, meta included): what a read sends to the client. */
  readonly content?: string;
  /** `content` parsed, on first access: a read that only forwards `content` never parses it. */
  readonly resource?: Resource;
}

/**
 * Keeps the search index in step with the resource table. Called inside the same SQL
 * transaction as every write, so the index never disagrees with what is stored.
 */
export interface SearchIndexWriter {
  remove(tx: SqlExecutor, resourceType: string, id: string): Promise<void>;
  /** Fingerprint of the active search parameters, stored with each row for `kanplan reindex`. */
  readonly fingerprint: string;
  /**
   * The index writes of many versions as data-modifying statements with parameters from
   * `firstParam` on, so the Repository can send them in the same statement as the resource rows.
   * `replace`: the resource had a row before, whose index rows go.
   */
  batchStatementsFor(versions: readonly { resource: Resource; replace: boolean }[], firstParam: number): { statements: string[]; params: SqlParam[] };
}

export interface HistoryQuery {
  readonly resourceType?: string;
  readonly id?: string;
  /** Only versions written at or after this instant. */
  readonly since?: string;
  /**
   * Only versions current at some point in [from, until): written before `until` and not
   * superseded by a version written at or before `from` (https://hl7.org/fhir/R4/http.html#history, _at).
   */
  readonly at?: { readonly from: string; readonly until: string };
  /** Page boundary: only versions from transactions before this one (newest first). */
  readonly beforeTx?: number;
  readonly beforeKey?: { readonly tx: number; readonly resourceType: string; readonly id: string; readonly versionId: number };
  readonly count: number;
}

interface VersionRow extends CurrentRow {
  method?: string;
}

const PG_UNIQUE_VIOLATION = '23505';

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
    method: (row.method ?? (row.deleted ? 'DELETE' : 'PUT')) as StoredVersion['method'],
    content,
    get resource() {
      if (parsed === undefined && content) parsed = JSON.parse(content) as Resource;
      return parsed;
    },
  };
}

/** Equal apart from the server-managed meta.versionId and meta.lastUpdated. */
function sameContent(a: Resource, b: Resource): boolean {
  const strip = ({ meta, ...rest }: Resource): unknown => {
    const { versionId: _v, lastUpdated: _l, ...otherMeta } = meta ?? {};
    return { ...rest, meta: Object.keys(otherMeta).length ? otherMeta : undefined };
  };
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

interface PendingVersion {
  readonly resource: Resource & { id: string };
  readonly content: string;
  readonly method: 'POST' | 'PUT' | 'PATCH';
  /** The id has a `resource` row already (an update, or a re-create after delete). */
  readonly replace: boolean;
}

/** The next version of `resource` after `previous` (undefined: a new id), stamped now. */
function newVersion(resource: Resource & { id: string }, previous: StoredVersion | undefined, method: PendingVersion['method']): PendingVersion {
  const versionId = (previous?.versionId ?? 0) + 1;
  const lastUpdated = new Date().toISOString();
  const stored = { ...resource, meta: { ...resource.meta, versionId: String(versionId), lastUpdated } } as Resource & { id: string };
  return { resource: stored, content: JSON.stringify(stored), method, replace: previous !== undefined };
}


/**
 * Versioned resource storage over one SQL database: a current-version table, an append-only
 * history table and the search index, all written in one transaction per interaction.
 * A Repository is either the root (each call runs in its own transaction) or bound to an open
 * transaction (from `transaction()`), in which case every call joins it.
 */
export class Repository {
  readonly db: Database;
  readonly indexer: SearchIndexWriter;
  private readonly tx: SqlExecutor | undefined;
  private txNumber: number | undefined;
  /** Versions written in this transaction and not yet sent (see `flush`). */
  private pending: PendingVersion[] = [];
  /** The transaction's executor, sending queued versions before each query. */
  private readonly flushing: SqlExecutor | undefined;
  private lastStatement: Promise<unknown> = Promise.resolve();
  /** Versions this transaction has sent, for the planner statistics once it commits. */
  private written = 0;
  private statistics: PlannerStatistics | undefined;
  /** Coalesced primary-key reads of the root repository (undefined inside a transaction). */
  private readonly currentReads: CurrentReads | undefined;

  constructor(db: Database, indexer: SearchIndexWriter, tx?: SqlExecutor) {
    this.db = db;
    this.indexer = indexer;
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

  /** Keeps planner statistics current from the writes committed through this repository. */
  keepStatistics(statistics: PlannerStatistics | undefined): void {
    this.statistics = statistics;
  }

  get inTransaction(): boolean {
    return this.tx !== undefined;
  }

  /**
   * Runs fn with a Repository bound to one SQL transaction (joins the current one if any).
   * Joining means no savepoint: an error caught inside a joined call does not undo what that
   * call wrote. Let errors propagate to the outermost transaction() so it rolls back.
   */
  async transaction<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
    if (this.tx) {
      return fn(this);
    }
    let written = 0;
    const result = await this.db.transaction(async (tx) => {
      const repo = new Repository(this.db, this.indexer, tx);
      const value = await fn(repo);
      await repo.inOrder(() => repo.flush());
      written = repo.written;
      return value;
    });
    if (written > 0) this.statistics?.noteWrites(written);
    return result;
  }

  private async nextTx(): Promise<number> {
    if (this.txNumber === undefined) {
      const [row] = await this.sql.query<{ tx: string }>("SELECT nextval('tx_seq') AS tx");
      this.txNumber = Number(row.tx);
    }
    return this.txNumber;
  }

  /** The current version, including a delete marker; undefined if the id was never used. */
  async readCurrent(resourceType: string, id: string, lock = false): Promise<StoredVersion | undefined> {
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

  async readVersion(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${CURRENT_ROW_COLUMNS}, method FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
      [resourceType, id, versionId],
    );
    return rows[0] && toStoredVersion(rows[0]);
  }

  /** Current, non-deleted resources by id, in one query (used by _include and transactions). */
  async readMany(refs: readonly { resourceType: string; id: string }[]): Promise<Resource[]> {
    if (refs.length === 0) {
      return [];
    }
    const rows = await this.sql.query<{ content: string }>(
      `SELECT r.content FROM resource r
       JOIN unnest($1::text[], $2::text[]) AS k(resource_type, id) ON r.resource_type = k.resource_type AND r.id = k.id
       WHERE NOT r.deleted`,
      [refs.map((ref) => ref.resourceType), refs.map((ref) => ref.id)],
    );
    return rows.map((row) => JSON.parse(row.content) as Resource);
  }

  /**
   * Stores a new version of `resource` (whose id is set). `previous` is the current row as read
   * under lock by the caller, or undefined for a new id. The version is queued and written with
   * the other queued versions of the transaction in one statement, before the transaction's next
   * query or its COMMIT (see `flush`).
   */
  private async writeVersion(
    resource: Resource & { id: string },
    previous: StoredVersion | undefined,
    method: 'POST' | 'PUT' | 'PATCH',
  ): Promise<Resource> {
    await this.nextTx();
    const version = newVersion(resource, previous, method);
    this.pending.push(version);
    return version.resource;
  }

  /**
   * Writes the queued versions: their `resource` rows (insert or update), history rows and
   * search-index rows in one statement whose text depends on which parts are needed, not on how
   * many versions there are, so PostgreSQL prepares it once. A transaction Bundle of 25 entries
   * costs one round trip here instead of 25; on this 2-core machine each round trip costs about
   * as much CPU as the statement (docs/architecture.md, "One statement per transaction's writes").
   */
  private async flush(): Promise<void> {
    if (!this.tx || this.pending.length === 0) {
      return;
    }
    const versions = this.pending;
    this.pending = [];
    this.written += versions.length;
    await this.send(this.tx, versions, this.txNumber as number);
  }

  /**
   * The statement of `flush`. `txNumber` null: the statement takes the next transaction number
   * itself, so a write that is alone in its transaction needs no BEGIN, nextval or COMMIT.
   */
  private async send(executor: SqlExecutor, versions: readonly PendingVersion[], txNumber: number | null): Promise<void> {
    const params: SqlParam[] = [
      versions.map((v) => v.resource.resourceType),
      versions.map((v) => v.resource.id),
      versions.map((v) => Number(v.resource.meta?.versionId)),
      versions.map((v) => v.resource.meta?.lastUpdated as string),
      versions.map((v) => v.content),
      versions.map((v) => v.method),
      versions.map((v) => (v.replace ? 'u' : 'c')),
      txNumber,
      this.indexer.fingerprint,
    ];
    const index = this.indexer.batchStatementsFor(versions, params.length + 1);
    const ctes = [
      `v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
             AS v(resource_type, id, version_id, last_updated, content, method, kind))`,
      // COALESCE evaluates nextval only when no number is given (https://www.postgresql.org/docs/current/functions-conditional.html).
      `t AS (SELECT COALESCE($8::bigint, nextval('tx_seq')) AS tx)`,
      `h AS (INSERT INTO resource_history (resource_type, id, version_id, tx, last_updated, method, deleted, content)
             SELECT resource_type, id, version_id, t.tx, last_updated::timestamptz, method, false, content FROM v, t)`,
      // Left out when nothing is replaced: one statement less to plan for the common create.
      ...(versions.some((v) => v.replace)
        ? [
            `u AS (UPDATE resource r SET version_id = v.version_id, tx = t.tx, last_updated = v.last_updated::timestamptz, deleted = false, content = v.content, index_hash = $9
             FROM v, t WHERE v.kind = 'u' AND r.resource_type = v.resource_type AND r.id = v.id)`,
          ]
        : []),
      ...index.statements.map((statement, i) => `i${i} AS (${statement})`),
    ];
    try {
      await executor.query(
        `WITH ${ctes.join(', ')}
         INSERT INTO resource (resource_type, id, version_id, tx, last_updated, deleted, content, index_hash)
         SELECT resource_type, id, version_id, t.tx, last_updated::timestamptz, false, content, $9 FROM v, t WHERE v.kind = 'c'`,
        [...params, ...index.params],
      );
    } catch (err) {
      if ((err as { code?: string }).code === PG_UNIQUE_VIOLATION) {
        const created = versions.filter((v) => !v.replace).map((v) => `${v.resource.resourceType}/${v.resource.id}`);
        throw conflict(`${created.join(', ')}: one of these was created by a concurrent request; retry the request.`);
      }
      throw err;
    }
  }

  /** Creates a resource with a new server-assigned UUID (any id in the body is ignored). */
  async create(resource: Resource, id: string = randomUUID()): Promise<Resource> {
    if (this.tx) {
      return this.writeVersion({ ...resource, id }, undefined, 'POST');
    }
    // Alone, a create is one statement (atomic by itself): one round trip instead of four.
    const version = newVersion({ ...resource, id }, undefined, 'POST');
    await this.send(this.db, [version], null);
    this.statistics?.noteWrites(1);
    return version.resource;
  }

  /**
   * Writes a new version of resource (its id set). `expectedVersion` implements If-Match.
   * Returns whether the write created the resource (update-as-create, or re-create after delete).
   */
  async update(
    resource: Resource & { id: string },
    options: { expectedVersion?: number; method?: 'PUT' | 'PATCH'; current?: StoredVersion } = {},
  ): Promise<{ resource: Resource; created: boolean; previous?: StoredVersion; unchanged: boolean }> {
    return this.transaction(async (repo) => {
      const previous = options.current ?? (await repo.readCurrent(resource.resourceType, resource.id, true));
      if (options.expectedVersion !== undefined && previous?.versionId !== options.expectedVersion) {
        throw versionConflict(resource.resourceType, resource.id, options.expectedVersion, previous?.versionId);
      }
      // A no-op update keeps the current version, as HAPI and Medplum do: re-sending a resource
      // (document re-import, sync jobs) must not flood history and change feeds.
      if (previous?.resource && !previous.deleted && sameContent(previous.resource, resource)) {
        return { resource: previous.resource, created: false, previous, unchanged: true };
      }
      const stored = await repo.writeVersion(resource, previous, options.method ?? 'PUT');
      return { resource: stored, created: !previous || previous.deleted, previous, unchanged: false };
    });
  }

  /** Marks the resource deleted (a new version without content). Returns false if nothing was there. */
  async delete(resourceType: string, id: string, options: { expectedVersion?: number } = {}): Promise<StoredVersion | undefined> {
    return this.transaction(async (repo) => {
      const previous = await repo.readCurrent(resourceType, id, true);
      if (options.expectedVersion !== undefined && previous?.versionId !== options.expectedVersion) {
        throw versionConflict(resourceType, id, options.expectedVersion, previous?.versionId);
      }
      if (!previous || previous.deleted) {
        return undefined;
      }
      const tx = await repo.nextTx();
      const versionId = previous.versionId + 1;
      const lastUpdated = new Date().toISOString();
      await repo.sql.query(
        `WITH history AS (
           INSERT INTO resource_history (resource_type, id, version_id, tx, last_updated, method, deleted, content)
           VALUES ($1, $2, $3, $4, $5, 'DELETE', true, NULL))
         UPDATE resource SET version_id = $3, tx = $4, last_updated = $5, deleted = true, content = NULL
         WHERE resource_type = $1 AND id = $2`,
        [resourceType, id, versionId, tx, lastUpdated],
      );
      await repo.indexer.remove(repo.sql, resourceType, id);
      return { ...previous, versionId, tx, lastUpdated, deleted: true, method: 'DELETE', resource: undefined };
    });
  }

  /**
   * Versions newest first (instance, type or system history). Pages by keyset on
   * (tx, type, id, version), so a page boundary never moves when new versions are written.
   */
  async history(query: HistoryQuery): Promise<StoredVersion[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (sql: string, value: string | number): void => {
      params.push(value);
      where.push(sql.replaceAll('?', `$${params.length}`));
    };
    if (query.resourceType) {
      add('h.resource_type = ?', query.resourceType);
    }
    if (query.id) {
      add('h.id = ?', query.id);
    }
    if (query.since) {
      add('h.last_updated >= ?::timestamptz', query.since);
    }
    if (query.at) {
      add('h.last_updated < ?::timestamptz', query.at.until);
      // Still current at `from`: no later version of the resource was written by then.
      add(`NOT EXISTS (SELECT 1 FROM resource_history n WHERE n.resource_type = h.resource_type
        AND n.id = h.id AND n.version_id > h.version_id AND n.last_updated <= ?::timestamptz)`, query.at.from);
    }
    if (query.beforeKey) {
      const k = query.beforeKey;
      params.push(k.tx, k.resourceType, k.id, k.versionId);
      const n = params.length;
      where.push(`(h.tx, h.resource_type, h.id, h.version_id) < ($${n - 3}, $${n - 2}, $${n - 1}, $${n})`);
    }
    params.push(query.count);
    const rows = await this.sql.query<VersionRow>(
      `SELECT h.resource_type, h.id, h.version_id, h.tx, h.last_updated, h.deleted, h.content, h.method
       FROM resource_history h
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY h.tx DESC, h.resource_type DESC, h.id DESC, h.version_id DESC
       LIMIT $${params.length}`,
      params,
    );
    return rows.map(toStoredVersion);
  }
}

/** If-Match named a version that is not the current one (https://hl7.org/fhir/R4/http.html#concurrency). */
function versionConflict(resourceType: string, id: string, expected: number, actual: number | undefined): Error {
  return preconditionFailed(
    actual === undefined
      ? `If-Match expected version ${expected} of ${resourceType}/${id}, but it does not exist.`
      : `If-Match expected version ${expected} of ${resourceType}/${id}, but the current version is ${actual}; read it again and retry with If-Match: W/"${actual}".`,
    'If-Match',
  );
}
