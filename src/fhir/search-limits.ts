import { RetryLaterError } from '../outcomes.ts';

/**
 * Seconds a client is asked to wait (Retry-After) when the costly-search slots are all taken:
 * searches that need it last about as long as the statement timeout allows, usually far less.
 */
const BUSY_RETRY_AFTER_SECONDS = 2;

/**
 * Sort keys answered from the resource table's own ordered columns (`_lastUpdated`, `_id`): a
 * work list sorted by them reads the page it returns, not every match.
 */
const ORDERED_SORT_KEYS = new Set(['_lastUpdated', '-_lastUpdated', '_id', '-_id']);

/**
 * Whether a search can cost a scan of a whole type or more: leading-wildcard text matches
 * (`:contains`, `:text`, `_content`, `_text`, also at the end of a chain), reverse chains
 * (`_has`), iterated includes, sorting on search parameters (a sort key per match), and an exact
 * total (https://hl7.org/fhir/R4/search.html). Plain parameter matches use the index and stop at
 * the page size; so do chains (`subject:Patient.identifier=…`: an indexed match, then the
 * references to it), `_include`/`_revinclude` without `:iterate` (what the page's matches refer
 * to or are referred to by) and `_sort` on `_lastUpdated` or `_id`.
 */
export function isCostlySearch(params: readonly (readonly [string, string])[]): boolean {
  return params.some(([name, value]) => {
    const [base, ...modifiers] = name.split(':');
    if (modifiers.some((modifier) => modifier === 'contains' || modifier === 'text' || modifier === 'iterate' || modifier.endsWith('._content') || modifier.endsWith('._text'))) return true;
    if (base === '_has' || base === '_content' || base === '_text' || base.endsWith('._content') || base.endsWith('._text')) return true;
    if (base === '_sort') return value.split(',').some((key) => !ORDERED_SORT_KEYS.has(key.trim()));
    if (base === '_total') return value === 'accurate';
    return false;
  });
}

/**
 * How long a costly search waits for a slot before it is answered 503: a burst of them (a work
 * list sorted by date, opened by several users at once) is served in turn instead of refused,
 * while a stream of pathological ones beyond the slots is refused after this wait.
 */
const SLOT_WAIT_MS = 2_000;
/** Costly searches that may wait per slot; more are answered 503 at once. */
const WAITING_PER_SLOT = 10;

/**
 * At most `limit` costly searches run at once in this process (COSTLY_SEARCH_CONCURRENCY), so
 * they never hold every pooled connection or every core and cheap reads keep theirs. A costly
 * search beyond the limit waits for a slot, first come first served, up to SLOT_WAIT_MS and
 * behind at most `limit × WAITING_PER_SLOT` others; otherwise it is answered 503 with Retry-After.
 */
export class CostlySearchSlots {
  private running = 0;
  private readonly limit: number;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Costly searches running now. */
  get inUse(): number {
    return this.running;
  }

  /** Costly searches waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A slot handed over stays counted: no search arriving meanwhile can take it.
    if (this.limit > 0 && this.running >= this.limit) await this.slot();
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Resolves when a running search hands its slot over (still counted); throws when none did in time or too many wait. */
  private slot(): Promise<void> {
    if (this.waiting.length >= this.limit * WAITING_PER_SLOT) return Promise.reject(this.busy());
    return new Promise((resolve, reject) => {
      const handOver = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(handOver);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(this.busy());
      }, SLOT_WAIT_MS);
      this.waiting.push(handOver);
    });
  }

  private busy(): RetryLaterError {
    return new RetryLaterError(
      'too-costly',
      `${this.running} costly searches (:contains, :text, _has, :iterate, _sort on search parameters or _total=accurate) are already running on this server, its limit, and ${this.waiting.length} are waiting; retry after ${BUSY_RETRY_AFTER_SECONDS} seconds, or narrow the search with indexed parameters (e.g. patient, date, code).`,
      BUSY_RETRY_AFTER_SECONDS,
    );
  }
}
