import { FhirError, RetryLaterError, conflict, issue } from '../outcomes.ts';
import { ConcurrentCreateError, ConcurrentWriteError, DatabaseUnavailableError, StatementTimeoutError } from '../store/store-errors.ts';

/** Seconds a client waits before retrying while the database is out of reach (Retry-After). */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * The store's errors as the OperationOutcomes a client gets; anything else passes unchanged.
 * Applied once, where an interaction leaves the router (`dispatch`), since a queued write meets
 * its conflict only when the transaction's statement is sent.
 */
export function withStoreOutcome(err: unknown): unknown {
  if (err instanceof ConcurrentCreateError) {
    // https://hl7.org/fhir/R4/http.html#concurrency: the loser of a create race retries.
    return conflict(`${err.keys.join(', ')}: one of these was created by a concurrent request; retry the request.`);
  }
  if (err instanceof ConcurrentWriteError) {
    // A deadlock's victim, rolled back whole: nothing of it was written, the same request can be sent again.
    return conflict('A concurrent request wrote the same resources and this one was rolled back whole (nothing was written); retry the request.');
  }
  if (err instanceof StatementTimeoutError) {
    // Not retryable as it is: the same search would run as long again. The client narrows it.
    return new FhirError(422, [
      issue('too-costly', `The search ran longer than the server allows (${err.timeoutMs} ms) and was stopped: narrow it with indexed parameters (e.g. patient, date, code), drop :contains, chains, _sort or _total=accurate, or ask for a smaller _count.`),
    ]);
  }
  if (err instanceof DatabaseUnavailableError) {
    return new RetryLaterError('transient', `The database is unavailable at the moment, so the request could not be completed (a write that was under way may or may not have been committed: read before repeating it). Retry after ${UNAVAILABLE_RETRY_AFTER_SECONDS} seconds.`, UNAVAILABLE_RETRY_AFTER_SECONDS);
  }
  return err;
}
