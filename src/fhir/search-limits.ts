import { RetryLaterError } from '../outcomes.ts';

/**
 * Seconds a client is asked to wait (Retry-After) when the costly-search slots are all taken:
 * searches that need it last about as long as the statement timeout allows, usually far less.
 */
const BUSY_RETRY_AFTER_SECONDS = 2;

/**
 * Whether a search can cost a scan of a whole type or more: leading-wildcard text matches
 * (`:contains`, `:text`, `_content`, `_text`), chains and reverse chains, iterated includes and
 * reverse includes, sorting, and an exact total (https://hl7.org/fhir/R4/search.html). Plain
 * parameter matches use the index and stop at the page size.
 */
export function isCostlySearch(params: readonly (readonly [string, string])[]): boolean {
  return params.some(([name, value]) => {
    const [base, modifier] = name.split(':', 2);
    if (modifier === 'contains' || modifier === 'text' || modifier === 'iterate') return true;
    if (base === '_has' || base === '_revinclude' || base === '_sort' || base === '_content' || base === '_text') return true;
    if (base === '_total') return value === 'accurate';
    return base.includes('.');
  });
}

/**
 * At most `limit` costly searches run at once in this process (EXPENSIVE_SEARCH_CONCURRENCY), so
 * they never hold every pooled connection and cheap reads keep theirs. A costly search beyond the
 * limit is answered 503 at once rather than queued: queued work would only age behind the
 * statements that are already slow.
 */
export class CostlySearchSlots {
  private running = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Costly searches running now. */
  get inUse(): number {
    return this.running;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.limit > 0 && this.running >= this.limit) {
      throw new RetryLaterError(
        'too-costly',
        `${this.running} costly searches (:contains, :text, chains, _has, _revinclude, :iterate, _sort or _total=accurate) are already running on this server, its limit; retry after ${BUSY_RETRY_AFTER_SECONDS} seconds, or narrow the search with indexed parameters (e.g. patient, date, code).`,
        BUSY_RETRY_AFTER_SECONDS,
      );
    }
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
    }
  }
}
