import type { Resource } from '@medplum/fhirtypes';
import type { Database, SqlExecutor } from './database.ts';

/** The interaction that wrote a version (resource_history.method). */
export type VersionMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One stored version of a resource; `resource` is absent for a delete marker. */
export interface StoredVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly tx: number;
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly method: VersionMethod;
  /** The version as stored (JSON text, meta included): what a read sends to the client. */
  readonly content?: string;
  /** `content` parsed, on first access: a read that only forwards `content` never parses it. */
  readonly resource?: Resource;
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
  readonly beforeKey?: { readonly tx: number; readonly resourceType: string; readonly id: string; readonly versionId: number };
  readonly count: number;
}

export interface ResourceKey {
  readonly resourceType: string;
  readonly id: string;
}

/** What the statements of one piece of work may cost (the search limits, src/fhir/search-limits.ts). */
export interface StatementLimits {
  /** Longest a statement may run, in ms; 0: no limit. */
  readonly timeoutMs: number;
  /**
   * Run each statement on one backend process, without parallel workers
   * (https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-MAX-PARALLEL-WORKERS-PER-GATHER):
   * a costly search then takes one core, not one per worker, from the requests beside it.
   */
  readonly singleWorker?: boolean;
}

/**
 * Versioned resource storage: a current version per (type, id), every version in history, and
 * whatever the write participants keep in step with them (the search index), all written in
 * one SQL transaction. It knows nothing of FHIR interactions: If-Match, no-op updates, validation
 * and the other write rules live in src/fhir/writes/, which calls `writeVersion` and
 * `writeDeletion` with the previous version it read under lock.
 *
 * A Repository is either the root (each call is its own transaction) or bound to an open
 * transaction (inside `transaction()`), in which case every call joins it.
 */
export interface Repository {
  /**
   * Runs fn with a Repository bound to one SQL transaction (joins the current one if any).
   * Joining means no savepoint: an error caught inside a joined call does not undo what that
   * call wrote. Let errors propagate to the outermost transaction() so it rolls back.
   */
  transaction<T>(fn: (repo: Repository) => Promise<T>): Promise<T>;
  readonly inTransaction: boolean;
  /**
   * Queues `step` to run once per `key`, inside this transaction after its work and before it
   * commits (a step may queue more). Only on a repository bound to a transaction. What a step
   * does is the caller's: the FHIR tier runs its write consequences here (src/fhir/writes/).
   */
  beforeCommit(key: string, step: (repo: Repository) => Promise<void>): void;

  /** The current version, including a delete marker; undefined if the id was never used. `lock`: FOR UPDATE until commit. */
  readCurrent(resourceType: string, id: string, lock?: boolean): Promise<StoredVersion | undefined>;
  /**
   * Reads the current versions of these resources under lock (FOR UPDATE until commit) in one
   * statement, ahead of their writes: this transaction's next locked `readCurrent` of each is
   * answered from it instead of a statement per resource. Only on a repository bound to a transaction.
   */
  lockCurrent(keys: readonly ResourceKey[]): Promise<void>;
  readVersion(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined>;
  /** Current, non-deleted resources by key, in one query (used by _include and transactions). */
  readMany(keys: readonly ResourceKey[]): Promise<Resource[]>;
  /**
   * Versions newest first (instance, type or system history). Pages by keyset on
   * (tx, type, id, version), so a page boundary never moves when new versions are written.
   */
  history(query: HistoryQuery): Promise<StoredVersion[]>;
  /** Whether a resource of the type was ever stored (deleted ones count). */
  everStored(resourceType: string): Promise<boolean>;

  /**
   * Writes the version after `previous` (read under lock in this transaction; undefined for a
   * new id) and returns it as stored, meta.versionId and meta.lastUpdated set. On the root
   * repository only a new id (no previous) may be written: it is one statement on its own.
   */
  writeVersion(next: Resource & { id: string }, previous: StoredVersion | undefined, method: Exclude<VersionMethod, 'DELETE'>): Promise<Resource>;
  /**
   * Writes new resources (ids never used, version 1), e.g. a resource and its Provenance, or a
   * batch of AuditEvents: on the root repository all in one statement of their own, in a
   * transaction queued with its other versions. Returns them as stored.
   */
  writeNewVersions(resources: readonly (Resource & { id: string })[]): Promise<Resource[]>;
  /** Writes a delete marker after `previous` (read under lock in this transaction, not deleted). */
  writeDeletion(previous: StoredVersion): Promise<StoredVersion>;

  /** A new resource under `id` (a new UUID by default), in one statement when alone. */
  create(resource: Resource, id?: string): Promise<Resource>;
  /** Reads under lock and writes the next version (no If-Match, no rules): for loaders and tests. */
  update(resource: Resource & { id: string }): Promise<{ resource: Resource; created: boolean; previous?: StoredVersion }>;
  /** Reads under lock and writes a delete marker; undefined when nothing current was there. */
  delete(resourceType: string, id: string): Promise<StoredVersion | undefined>;

  /**
   * Transaction-scoped locks on names (e.g. a conditional create's criteria), taken in sorted
   * order so that two transactions locking overlapping names cannot deadlock; a name this
   * transaction already holds costs nothing.
   */
  lock(names: readonly string[]): Promise<void>;
  /**
   * Runs fn with every statement within `limits`, in a transaction of its own or the current one;
   * a statement that runs longer than `timeoutMs` fails with StatementTimeoutError. PostgreSQL
   * only: the embedded database cannot interrupt a statement and runs each on one thread, there
   * fn runs unlimited.
   */
  withStatementLimits<T>(limits: StatementLimits, fn: (repo: Repository) => Promise<T>): Promise<T>;
  /** Answers when the database does (readiness probe). */
  ping(): Promise<void>;

  /** The database and this repository's SQL executor: for the search engine, which queries the index tables. */
  readonly db: Database;
  readonly sql: SqlExecutor;
}
