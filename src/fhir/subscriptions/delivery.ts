import { randomUUID } from 'node:crypto';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { SubscriptionSettings } from '../../config.ts';
import type { Repository, StoredVersion } from '../../store/repository.ts';
import {
  claimLane, numberEvents, parkLane, postponeLane, pruneDeliveredEvents, recordDelivery, recordFailure, releaseLane, renewLaneLease, undeliveredEvents,
  type ClaimedLane, type StoredEvent,
} from '../../store/subscription-store.ts';
import { processesYetToAcknowledge, pruneRegistries } from '../../store/subscription-registries.ts';
import { awaitNumberedWrites } from '../../store/transaction-points.ts';
import type { Logger } from 'pino';
import { notificationBundle, type NotificationType, type NotifiedEvent } from './notification.ts';
import type { SubscriptionRegistry } from './subscription-registry.ts';
import { readSubscription, type SubscriptionSpec } from './subscription-spec.ts';
import type { SearchParameterRegistry } from '../../conformance/search-parameters.ts';

const PRUNE_EVERY_MS = 60_000;
/** Most events a notification carries when the Subscription sets a larger backport-max-count. */
const MAX_EVENTS_PER_NOTIFICATION = 100;
/** A handshake still waiting for a process to match its Subscription after this long is logged as a warning, and checked once a second. */
const SLOW_ACTIVATION_MS = 30_000;

export interface DeliveryDeps {
  readonly repo: Repository;
  readonly registry: SubscriptionRegistry;
  readonly parameters: SearchParameterRegistry;
  readonly baseUrl: string;
  readonly settings: SubscriptionSettings;
  /** How long a claimed lane is held; longer than any delivery attempt. */
  readonly leaseMs: number;
  readonly logger: Logger;
}

/**
 * Delivers notifications from the outbox (docs/architecture.md, "Subscriptions"). Each
 * Subscription has a lane; a worker claims a due lane (FOR UPDATE SKIP LOCKED, then a lease, so
 * several processes share the lanes and never deliver one subscription's events out of order),
 * numbers its new events, and POSTs a handshake, the next events or a heartbeat. A received
 * notification (2xx) marks its events delivered; a failure schedules a retry with exponential
 * backoff (for SUBSCRIPTION_RETRY_HOURS, then the lane parks), and after SUBSCRIPTION_ERROR_AFTER
 * failures in a row the Subscription's status becomes `error` with the reason. Events are marked
 * only after the receiver answered, so a process that dies mid-delivery loses nothing: the lane's
 * lease runs out and the same events (same numbers) are sent again — the one kind of duplicate, which
 * receivers recognise by event number. A slow receiver holds at most SUBSCRIPTION_PER_ENDPOINT of
 * this process's SUBSCRIPTION_WORKERS slots, each attempt bounded by its timeout.
 */
export class SubscriptionDelivery {
  private readonly deps: DeliveryDeps;
  readonly worker = `delivery-${randomUUID()}`;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly perOrigin = new Map<string, number>();
  private readonly stopping = new AbortController();
  private lastPrune = 0;

  constructor(deps: DeliveryDeps) {
    this.deps = deps;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.wakeUp?.();
  }

  /** Stops claiming, aborts attempts in flight and gives their lanes back (their events are sent again later). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.wakeUp?.();
    await this.loop;
    await Promise.allSettled(this.inFlight.values());
  }

  private async run(): Promise<void> {
    const { settings, logger } = this.deps;
    while (this.running) {
      try {
        await this.prune();
        while (this.running && this.inFlight.size < settings.workers) {
          const busy = [...this.perOrigin].filter(([, n]) => n >= settings.perEndpoint).map(([origin]) => origin);
          const lane = await claimLane(this.deps.repo.db, this.worker, this.deps.leaseMs, busy, [...this.inFlight.keys()]);
          if (!lane) break;
          this.perOrigin.set(lane.endpointOrigin, (this.perOrigin.get(lane.endpointOrigin) ?? 0) + 1);
          const work = this.serve(lane).finally(() => {
            this.inFlight.delete(lane.subscriptionId);
            this.perOrigin.set(lane.endpointOrigin, (this.perOrigin.get(lane.endpointOrigin) ?? 1) - 1);
            this.wake();
          });
          this.inFlight.set(lane.subscriptionId, work);
        }
      } catch (err) {
        logger.error({ err }, 'subscription delivery: claiming failed');
      }
      if (this.running) await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.deps.settings.pollMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async prune(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const removed = await pruneDeliveredEvents(this.deps.repo.db, this.deps.settings.retentionMs);
    if (removed) this.deps.logger.info({ removed }, 'delivered subscription events pruned');
    await pruneRegistries(this.deps.repo.db);
  }

  private async serve(lane: ClaimedLane): Promise<void> {
    const { repo, logger } = this.deps;
    const db = repo.db;
    const id = lane.subscriptionId;
    try {
      const stored = await repo.readCurrent('Subscription', id);
      const subscription = stored && !stored.deleted ? (stored.resource as Subscription) : undefined;
      const spec = subscription && readSubscription(this.deps.parameters, subscription);
      if (!spec || 'problems' in spec) {
        await releaseLane(db, id, this.worker);
        return;
      }
      if (lane.status === 'requested') {
        await this.handshake(spec, stored as StoredVersion);
        return;
      }
      const numbered = await numberEvents(db, id, this.worker);
      const events = await undeliveredEvents(db, id, Math.min(spec.maxCount, MAX_EVENTS_PER_NOTIFICATION));
      const type: NotificationType = events.length > 0 ? 'event-notification' : 'heartbeat';
      const notified = await this.withResources(spec, events);
      // The attempt below lasts at most half a lease from now; a lane whose lease ran out meanwhile
      // (a slow database) may be another process's already, and sending would duplicate its events.
      if (!(await renewLaneLease(db, id, this.worker, this.deps.leaseMs))) return;
      const failure = await this.post(spec, type, lane.status, numbered, notified);
      if (failure === undefined) {
        await recordDelivery(db, id, this.worker, events.at(-1)?.eventNumber);
        // Received again after failures: the subscription recovered (errors.md: the server may resume).
        if (lane.status === 'error' && events.length > 0) await this.setStatus(id, 'active');
        return;
      }
      if (this.stopping.signal.aborted) {
        await releaseLane(db, id, this.worker);
        return;
      }
      const { retryBaseMs, retryMaxMs, retryWindowMs, errorAfterFailures } = this.deps.settings;
      const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(lane.failures, 30));
      const result = await recordFailure(db, id, this.worker, failure, delay, retryWindowMs);
      logger.warn({ subscription: id, failures: result?.failures, retryInMs: delay, parked: result?.parked, reason: failure }, 'notification not delivered');
      if (result && lane.status === 'active' && result.failures >= errorAfterFailures) {
        await this.setStatus(id, 'error', `${result.failures} deliveries failed in a row; last: ${failure}`);
      }
    } catch (err) {
      logger.error({ err, subscription: id }, 'subscription delivery failed');
      await releaseLane(db, id, this.worker).catch(() => undefined);
    }
  }

  /**
   * Handshake (workflow.md): requested → active when the endpoint accepts it, else error with the
   * reason and the lane parked. Not before every live server process matches this version of the
   * Subscription (each acknowledges it after loading, subscription-registries.ts): until then it is
   * postponed, counting no failure. Then a barrier (awaitNumberedWrites): a write transaction
   * matched with an older registry holds a transaction number from before its matching until it
   * commits, so once the barrier passes none is left to commit, and every write committed after
   * the activation — in any process — has this Subscription's events. A process that stopped
   * renewing its liveness row is not waited for (it counts as gone after a few refresh periods).
   */
  private async handshake(spec: SubscriptionSpec, version: StoredVersion): Promise<void> {
    const db = this.deps.repo.db;
    // Matched (and acknowledged) in this process from now on.
    await this.deps.registry.refresh();
    const waiting = await processesYetToAcknowledge(db, { id: spec.id, versionId: version.versionId });
    if (waiting.length > 0) {
      const waitedMs = Date.now() - Date.parse(version.lastUpdated);
      const slow = waitedMs > SLOW_ACTIVATION_MS;
      this.deps.logger[slow ? 'warn' : 'debug']({ subscription: spec.id, waiting, waitedMs }, 'handshake waits until every server process matches the subscription');
      await postponeLane(db, spec.id, this.worker, slow ? 1_000 : Math.max(this.deps.settings.pollMs, 100));
      return;
    }
    await awaitNumberedWrites(db);
    const failure = await this.post(spec, 'handshake', 'requested', 0, []);
    if (failure === undefined) {
      await this.setStatus(spec.id, 'active');
      await recordDelivery(db, spec.id, this.worker, undefined);
      return;
    }
    if (this.stopping.signal.aborted) {
      await releaseLane(db, spec.id, this.worker);
      return;
    }
    await this.setStatus(spec.id, 'error', `handshake failed: ${failure}`);
    await parkLane(db, spec.id, this.worker, `handshake failed: ${failure}`);
  }

  private async withResources(spec: SubscriptionSpec, events: readonly StoredEvent[]): Promise<NotifiedEvent[]> {
    if (spec.content !== 'full-resource') return events.map((event) => ({ event }));
    return Promise.all(
      events.map(async (event) => {
        const version = event.interaction === 'delete' ? undefined : await this.deps.repo.readVersion(event.resourceType, event.resourceId, event.versionId);
        return { event, resource: version?.resource as Resource | undefined };
      }),
    );
  }

  /** POSTs one notification; undefined when the receiver answered 2xx, else why not. */
  private async post(spec: SubscriptionSpec, type: NotificationType, status: string, eventsSinceStart: number, events: NotifiedEvent[]): Promise<string | undefined> {
    const bundle = notificationBundle({ baseUrl: this.deps.baseUrl, spec, type, status, eventsSinceStart, events });
    // Never longer than half the lease, so a lane is not taken over while its attempt runs.
    const timeoutMs = Math.min(spec.timeoutSeconds ? spec.timeoutSeconds * 1000 : this.deps.settings.timeoutMs, this.deps.leaseMs / 2);
    try {
      const response = await fetch(spec.endpoint, {
        method: 'POST',
        // channel.header values are sent as HTTP headers; Content-Type is channel.payload (channels.md).
        headers: [...spec.headers.map(([name, value]): [string, string] => [name, value]), ['Content-Type', spec.contentType]],
        body: JSON.stringify(bundle),
        redirect: 'error',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopping.signal]),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.ok ? undefined : `${spec.endpoint} answered ${response.status} ${response.statusText}`;
    } catch (err) {
      const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : ((err as { cause?: Error }).cause?.message ?? (err as Error).message);
      return `${spec.endpoint}: ${reason}`;
    }
  }

  /** Writes the Subscription's status (and error) as a new version; its lane follows in the same statement. */
  private async setStatus(id: string, status: 'active' | 'error', error?: string): Promise<void> {
    await this.deps.repo.transaction(async (repo) => {
      const previous = await repo.readCurrent('Subscription', id, true);
      if (!previous || previous.deleted) return;
      const current = previous.resource as Subscription & { id: string };
      // The client turned it off or asked for a new handshake meanwhile: theirs wins.
      if (current.status === 'off' || (current.status === 'requested' && status === 'error' && !error?.startsWith('handshake'))) return;
      const { error: _old, meta: _meta, ...rest } = current;
      await repo.writeVersion({ ...rest, status, ...(error ? { error } : {}) } as Subscription & { id: string }, previous, 'PUT');
    });
  }
}
