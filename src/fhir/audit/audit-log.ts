import type { AuditEvent } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { Repository } from '../../store/repository.ts';
import { ReadEventGroups, type AuditedRead } from './read-event-groups.ts';

export type StoredAuditEvent = AuditEvent & { id: string };

/**
 * Where AuditEvents go. A write's event is stored before the response, in a statement apart from
 * the write (its own transaction: a write that rolled back is still audited); the events of
 * concurrent writes share that statement (group commit). A read's waits in memory and is stored
 * with the others of the same second, many in one statement, so auditing costs reads little; with
 * read grouping (read-event-groups.ts) the successful reads of one caller on one patient in that
 * second are one AuditEvent.
 * `close()` stores what is waiting (server shutdown).
 */
export interface AuditTrail {
  record(event: StoredAuditEvent, durable: boolean): Promise<void>;
  /**
   * A successful read-side request folded into its group without an event of its own (read
   * grouping on); false when it is not grouped: `record` its event instead.
   */
  recordRead(read: AuditedRead): boolean;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** Longest time a read's event waits before it is stored (AUDIT_FLUSH_MS, at most a second by default). */
  readonly flushMs: number;
  /** Successful read-side requests of one caller, patient and interaction per flush window as one AuditEvent (AUDIT_READ_GROUPING). */
  readonly readGrouping: boolean;
  readonly logger: Logger;
}

/**
 * Events per statement when reads come fast: a second of heavy reading is many small statements,
 * not one huge one. Waiting events outlive the young generation's collections, and large
 * statements' parameter strings are large objects: measured at 10,000 reads/s, batches of 500
 * spent more CPU in the garbage collector than batches of 100 or 25 (bench/traceability.ts: about
 * 165, 150 and 135 µs of CPU per audited read, against 45 µs per read without auditing).
 */
const BATCH = 50;
/** Events kept while the database does not answer; beyond it the oldest are dropped (and logged). */
const MAX_WAITING = 50_000;
/**
 * Grouped events open at once before the window is closed early: bounds the memory a window
 * holds (each records at most MAX_REQUESTS_PER_EVENT requests) without cutting groups short at
 * ordinary rates — a flush every BATCH requests would leave most groups of one request.
 */
const MAX_OPEN_GROUPS = 500;

/** The AuditTrail over the repository: AuditEvents are resources, indexed and searched like any other. */
export class AuditLog implements AuditTrail {
  private readonly repo: Repository;
  private readonly options: AuditLogOptions;
  private waiting: StoredAuditEvent[] = [];
  private readonly groups: ReadEventGroups | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** The statement of writes' events in flight, and the next one, open to events arriving meanwhile. */
  private durableInFlight: Promise<unknown> = Promise.resolve();
  private nextDurable: { readonly events: StoredAuditEvent[]; readonly stored: Promise<void> } | undefined;

  constructor(repo: Repository, options: AuditLogOptions) {
    this.repo = repo;
    this.options = options;
    this.groups = options.readGrouping ? new ReadEventGroups() : undefined;
  }

  async record(event: StoredAuditEvent, durable: boolean): Promise<void> {
    if (durable) {
      return this.storeDurable(event);
    }
    if (!this.groups?.add(event)) this.waiting.push(event);
    this.scheduleFlush();
  }

  recordRead(read: AuditedRead): boolean {
    if (!this.groups?.addRead(read)) return false;
    this.scheduleFlush();
    return true;
  }

  /** A flush now when a statement's worth is waiting, else within flushMs. */
  private scheduleFlush(): void {
    if (this.waiting.length >= BATCH || (this.groups?.size ?? 0) >= MAX_OPEN_GROUPS) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
      // A waiting flush does not keep the process alive; close() stores what is left.
      this.timer.unref();
    }
  }

  /**
   * A write's event, stored before its response. Events that arrive while a statement of them is
   * in flight wait for it and go together in the next one: at 10 concurrent writers, one statement
   * per write became about one per four (bench/write-profile.ts), and no event waits longer than
   * one statement. A failed statement fails each of its requests' recording, as it would alone.
   */
  private storeDurable(event: StoredAuditEvent): Promise<void> {
    const next = this.nextDurable;
    if (next && next.events.length < BATCH) {
      next.events.push(event);
      return next.stored;
    }
    const events = [event];
    const stored = this.durableInFlight.then(async () => {
      if (this.nextDurable?.events === events) this.nextDurable = undefined;
      await this.repo.writeNewVersions(events);
    });
    this.nextDurable = { events, stored };
    this.durableInFlight = stored.catch(() => undefined);
    return stored;
  }

  /** Stores every waiting event; one flush at a time, so events keep their order of arrival. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing = this.flushing.then(() => this.storeWaiting());
    return this.flushing;
  }

  /**
   * Takes every waiting event (and the grouped ones) out of `waiting` before writing them, so the
   * requests that arrive while the statements run start new groups and a new count: left in
   * `waiting` during the write, they kept `waiting.length >= BATCH` true, every request scheduled
   * another flush, and on a fast server groups closed after one to three requests.
   */
  private async storeWaiting(): Promise<void> {
    if (this.groups?.size) this.waiting.push(...this.groups.take());
    const events = this.waiting;
    this.waiting = [];
    for (let stored = 0; stored < events.length; stored += BATCH) {
      try {
        await this.repo.writeNewVersions(events.slice(stored, stored + BATCH));
      } catch (err) {
        // What was not stored goes back ahead of what arrived meanwhile, within MAX_WAITING.
        this.waiting = [...events.slice(stored), ...this.waiting];
        const dropped = Math.max(0, this.waiting.length - MAX_WAITING);
        if (dropped) this.waiting = this.waiting.slice(dropped);
        this.options.logger.error({ err, waiting: this.waiting.length, dropped }, 'audit events could not be stored; retrying with the next flush');
        if (!this.timer && this.waiting.length) {
          this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
          this.timer.unref();
        }
        return;
      }
    }
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
