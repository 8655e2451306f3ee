import { conflict } from '../outcomes.ts';
import { ConcurrentCreateError } from '../store/store-errors.ts';

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
  return err;
}
