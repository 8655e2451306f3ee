/**
 * Errors the store throws; src/fhir/ maps them to OperationOutcomes (fhir/store-outcomes.ts),
 * so the store stays below FHIR's HTTP semantics.
 */

/** Two writers created the same id at once: the primary key decided, this one lost. */
export class ConcurrentCreateError extends Error {
  readonly keys: readonly string[];

  constructor(keys: readonly string[]) {
    super(`${keys.join(', ')}: created by a concurrent transaction`);
    this.name = 'ConcurrentCreateError';
    this.keys = keys;
  }
}

/**
 * A statement ran past the statement timeout it was given (PostgreSQL SQLSTATE 57014,
 * https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT).
 */
export class StatementTimeoutError extends Error {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`statement ran longer than ${timeoutMs} ms`);
    this.name = 'StatementTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The database cannot be reached or dropped the connection (refused, reset, shut down, not
 * accepting connections). Transient: the pool reconnects on the next request once it is back.
 */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the database is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * The database chose this transaction as the victim of a deadlock or a serialization failure
 * (SQLSTATE 40P01, 40001): it was rolled back whole, and the same request may simply be retried.
 */
export class ConcurrentWriteError extends Error {
  constructor(cause: unknown) {
    super(`rolled back for a concurrent transaction: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ConcurrentWriteError';
  }
}
