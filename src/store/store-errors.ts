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
