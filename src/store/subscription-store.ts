import type { SqlExecutor, SqlParam } from './database.ts';

/**
 * The SQL of subscriptions (migration 012): the outbox statements the subscription write
 * participant adds to a write's statement, and what the delivery workers, `$status`, `$events`
 * and `kanplan subscriptions` read and update. Event numbers are given by the worker holding the
 * lane, so writers never wait on a subscription's counter.
 */

export type LaneStatus = 'requested' | 'active' | 'error' | 'off';

/** A Subscription version being written, as its lane records it. */
export interface LaneWrite {
  readonly subscriptionId: string;
  /** Undefined: the Subscription is deleted, and its lane and events go. */
  readonly status?: LaneStatus;
  readonly endpointOrigin?: string;
  readonly heartbeatSeconds?: number;
}

/** One triggering version for one subscription. */
export interface OutboxEvent {
  readonly subscriptionId: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly versionId: number;
  readonly interaction: 'create' | 'update' | 'delete';
}

/**
 * Data-modifying statements for a write's statement: lanes of the Subscriptions written, and the
 * events of the versions that matched. A lane set to `requested` (a new Subscription, or one set
 * active again by its client) starts over: due now, failures forgotten, unparked.
 */
export function outboxStatements(lanes: readonly LaneWrite[], events: readonly OutboxEvent[], bind: (value: SqlParam) => string): string[] {
  const statements: string[] = [];
  const kept = lanes.filter((lane) => lane.status !== undefined);
  const removed = lanes.filter((lane) => lane.status === undefined).map((lane) => lane.subscriptionId);
  if (kept.length > 0) {
    statements.push(
      `INSERT INTO subscription_lane (subscription_id, status, endpoint_origin, heartbeat_seconds)
       SELECT * FROM unnest(${bind(kept.map((l) => l.subscriptionId))}::text[], ${bind(kept.map((l) => l.status as string))}::text[],
                            ${bind(kept.map((l) => l.endpointOrigin ?? ''))}::text[], ${bind(kept.map((l) => (l.heartbeatSeconds === undefined ? null : String(l.heartbeatSeconds))))}::int[])
       ON CONFLICT (subscription_id) DO UPDATE SET status = excluded.status, endpoint_origin = excluded.endpoint_origin,
         heartbeat_seconds = excluded.heartbeat_seconds,
         next_attempt_at = CASE WHEN excluded.status = 'requested' THEN now() ELSE subscription_lane.next_attempt_at END,
         failures = CASE WHEN excluded.status = 'requested' THEN 0 ELSE subscription_lane.failures END,
         first_failure_at = CASE WHEN excluded.status = 'requested' THEN NULL ELSE subscription_lane.first_failure_at END,
         parked = CASE WHEN excluded.status = 'requested' THEN false ELSE subscription_lane.parked END`,
    );
  }
  if (removed.length > 0) {
    const ids = bind(removed);
    statements.push(`DELETE FROM subscription_lane WHERE subscription_id = ANY(${ids}::text[])`);
    statements.push(`DELETE FROM subscription_event WHERE subscription_id = ANY(${ids}::text[])`);
  }
  if (events.length > 0) {
    statements.push(
      `INSERT INTO subscription_event (subscription_id, resource_type, resource_id, version_id, interaction)
       SELECT * FROM unnest(${bind(events.map((e) => e.subscriptionId))}::text[], ${bind(events.map((e) => e.resourceType))}::text[],
                            ${bind(events.map((e) => e.resourceId))}::text[], ${bind(events.map((e) => String(e.versionId)))}::int[],
                            ${bind(events.map((e) => e.interaction))}::text[])`,
    );
  }
  return statements;
}

/**
 * Queues a named event (no write: e.g. authorization-expiring) of one resource version for the
 * subscriptions it matched, once per (event, version) ever: the marker row and the outbox rows are
 * one statement, so a second call — the next run of the check, another process — inserts nothing.
 * Returns whether it was queued now.
 */
export async function queueNamedEvent(
  db: SqlExecutor,
  event: string,
  version: { readonly resourceType: string; readonly id: string; readonly versionId: number },
  subscriptionIds: readonly string[],
): Promise<boolean> {
  const rows = await db.query<{ queued: boolean }>(
    `WITH marked AS (INSERT INTO subscription_named_event (event, resource_type, resource_id, version_id) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING RETURNING 1),
          queued AS (INSERT INTO subscription_event (subscription_id, resource_type, resource_id, version_id, interaction)
                     SELECT s, $2, $3, $4, $1 FROM unnest($5::text[]) AS s WHERE EXISTS (SELECT 1 FROM marked))
     SELECT EXISTS (SELECT 1 FROM marked) AS queued`,
    [event, version.resourceType, version.id, version.versionId, subscriptionIds],
  );
  return rows[0]?.queued === true;
}

/** The Subscriptions stored (not deleted), as JSON text: what each process's registry matches against. */
export async function readStoredSubscriptions(db: SqlExecutor): Promise<string[]> {
  const rows = await db.query<{ content: string }>("SELECT content FROM resource WHERE resource_type = 'Subscription' AND NOT deleted");
  return rows.map((row) => row.content);
}

/** The current content of a resource that is not deleted (who a subscription owner's RelatedPerson speaks for). */
export async function readLiveContent(db: SqlExecutor, resourceType: string, id: string): Promise<string | undefined> {
  const [row] = await db.query<{ content: string }>('SELECT content FROM resource WHERE resource_type = $1 AND id = $2 AND NOT deleted', [resourceType, id]);
  return row?.content;
}

export interface ClaimedLane {
  readonly subscriptionId: string;
  readonly status: LaneStatus;
  readonly endpointOrigin: string;
  readonly eventsNumbered: number;
  readonly failures: number;
  /** Whether undelivered events are waiting (else the claim is for a heartbeat or handshake). */
  readonly pending: boolean;
}

/**
 * Claims one lane that has work now — a handshake, due events, or a heartbeat — for `worker`
 * until the lease runs out, skipping lanes another process holds (FOR UPDATE SKIP LOCKED) and
 * lanes whose endpoint origin is in `busyOrigins` (this process's per-endpoint limit) and the lanes
 * in `held` — this process's own deliveries in flight, whose lease may have run out meanwhile (a
 * slow database): claiming one again would send its events twice, and out of order.
 */
export async function claimLane(
  db: SqlExecutor,
  worker: string,
  leaseMs: number,
  busyOrigins: readonly string[],
  held: readonly string[] = [],
): Promise<ClaimedLane | undefined> {
  const [row] = await db.query<{ subscription_id: string; status: LaneStatus; endpoint_origin: string; events_numbered: string; failures: number; pending: boolean }>(
    `UPDATE subscription_lane l SET worker = $1, lease_until = now() + $2 * interval '1 millisecond'
     FROM (SELECT subscription_id, EXISTS (SELECT 1 FROM subscription_event e WHERE e.subscription_id = c.subscription_id AND e.delivered_at IS NULL) AS pending
           FROM subscription_lane c
           WHERE NOT c.parked AND c.status IN ('requested', 'active', 'error') AND c.next_attempt_at <= now()
             AND (c.lease_until IS NULL OR c.lease_until < now()) AND c.endpoint_origin <> ALL($3::text[]) AND c.subscription_id <> ALL($4::text[])
             AND (c.status = 'requested'
                  OR EXISTS (SELECT 1 FROM subscription_event e WHERE e.subscription_id = c.subscription_id AND e.delivered_at IS NULL)
                  OR (c.heartbeat_seconds IS NOT NULL AND coalesce(c.last_sent_at, '-infinity') < now() - c.heartbeat_seconds * interval '1 second'))
           ORDER BY c.next_attempt_at LIMIT 1 FOR UPDATE OF c SKIP LOCKED) AS due
     WHERE l.subscription_id = due.subscription_id
     RETURNING l.subscription_id, l.status, l.endpoint_origin, l.events_numbered, l.failures, due.pending`,
    [worker, leaseMs, busyOrigins, held],
  );
  return (
    row && {
      subscriptionId: row.subscription_id,
      status: row.status,
      endpointOrigin: row.endpoint_origin,
      eventsNumbered: Number(row.events_numbered),
      failures: Number(row.failures),
      pending: row.pending,
    }
  );
}

/**
 * Numbers the lane's new events after the last number given, in outbox order, and returns the
 * lane's count. Only the lane's holder numbers (its lease), so numbers never repeat; the unique
 * index on (subscription, number) is the backstop.
 */
export async function numberEvents(db: SqlExecutor, subscriptionId: string, worker: string): Promise<number> {
  const [row] = await db.query<{ events_numbered: string }>(
    `WITH lane AS (SELECT events_numbered FROM subscription_lane WHERE subscription_id = $1 AND worker = $2),
          fresh AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM subscription_event WHERE subscription_id = $1 AND event_number IS NULL),
          numbered AS (UPDATE subscription_event e SET event_number = lane.events_numbered + fresh.n FROM fresh, lane WHERE e.seq = fresh.seq)
     UPDATE subscription_lane SET events_numbered = events_numbered + (SELECT count(*) FROM fresh)
     WHERE subscription_id = $1 AND worker = $2 RETURNING events_numbered`,
    [subscriptionId, worker],
  );
  return Number(row?.events_numbered ?? 0);
}

export interface StoredEvent {
  readonly eventNumber: number;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly versionId: number;
  readonly interaction: string;
  readonly occurredAt: string;
}

type EventRow = { event_number: string; resource_type: string; resource_id: string; version_id: number; interaction: string; occurred_at: string | Date };

const toEvent = (row: EventRow): StoredEvent => ({
  eventNumber: Number(row.event_number),
  resourceType: row.resource_type,
  resourceId: row.resource_id,
  versionId: Number(row.version_id),
  interaction: row.interaction,
  occurredAt: new Date(row.occurred_at).toISOString(),
});

const EVENT_COLUMNS = 'event_number, resource_type, resource_id, version_id, interaction, occurred_at';

/** The first `limit` numbered, undelivered events of a subscription, in number order. */
export async function undeliveredEvents(db: SqlExecutor, subscriptionId: string, limit: number): Promise<StoredEvent[]> {
  const rows = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM subscription_event WHERE subscription_id = $1 AND delivered_at IS NULL AND event_number IS NOT NULL ORDER BY event_number LIMIT $2`,
    [subscriptionId, limit],
  );
  return rows.map(toEvent);
}

/** Events still kept (undelivered, or delivered within the retention window) numbered from `from` to `to`, for `$events`. */
export async function eventsInRange(db: SqlExecutor, subscriptionId: string, from: number, to: number, limit: number): Promise<StoredEvent[]> {
  const rows = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM subscription_event WHERE subscription_id = $1 AND event_number BETWEEN $2 AND $3 ORDER BY event_number LIMIT $4`,
    [subscriptionId, from, to, limit],
  );
  return rows.map(toEvent);
}

/** The events up to `upTo` were received: mark them and free the lane with its failures forgotten. */
export async function recordDelivery(db: SqlExecutor, subscriptionId: string, worker: string, upTo: number | undefined): Promise<void> {
  await db.query(
    `WITH delivered AS (UPDATE subscription_event SET delivered_at = now()
                        WHERE subscription_id = $1 AND delivered_at IS NULL AND event_number <= $3)
     UPDATE subscription_lane SET failures = 0, first_failure_at = NULL, last_error = NULL, last_sent_at = now(),
       next_attempt_at = now(), worker = NULL, lease_until = NULL
     WHERE subscription_id = $1 AND worker = $2`,
    [subscriptionId, worker, upTo ?? 0],
  );
}

/**
 * A delivery failed: retry after `delayMs`, or park the lane once failures have lasted longer than
 * `retryWindowMs` (nothing more is sent until the client sets the Subscription active again).
 */
export async function recordFailure(
  db: SqlExecutor,
  subscriptionId: string,
  worker: string,
  error: string,
  delayMs: number,
  retryWindowMs: number,
): Promise<{ failures: number; parked: boolean } | undefined> {
  const [row] = await db.query<{ failures: number; parked: boolean }>(
    `UPDATE subscription_lane SET failures = failures + 1, first_failure_at = coalesce(first_failure_at, now()), last_error = $3,
       next_attempt_at = now() + $4 * interval '1 millisecond',
       parked = coalesce(first_failure_at, now()) < now() - $5 * interval '1 millisecond',
       worker = NULL, lease_until = NULL
     WHERE subscription_id = $1 AND worker = $2 RETURNING failures, parked`,
    [subscriptionId, worker, error.slice(0, 1000), delayMs, retryWindowMs],
  );
  return row && { failures: Number(row.failures), parked: row.parked };
}

/** Gives a lane back without changing its state (a clean stop, or nothing was due). */
export async function releaseLane(db: SqlExecutor, subscriptionId: string, worker: string): Promise<void> {
  await db.query('UPDATE subscription_lane SET worker = NULL, lease_until = NULL WHERE subscription_id = $1 AND worker = $2', [subscriptionId, worker]);
}

/**
 * Gives a lane back to be tried again after `delayMs`, counting no failure: a handshake that waits
 * for every server process to match its Subscription (subscription-registries.ts).
 */
export async function postponeLane(db: SqlExecutor, subscriptionId: string, worker: string, delayMs: number): Promise<void> {
  await db.query(
    "UPDATE subscription_lane SET next_attempt_at = now() + $3 * interval '1 millisecond', worker = NULL, lease_until = NULL WHERE subscription_id = $1 AND worker = $2",
    [subscriptionId, worker, delayMs],
  );
}

/** Renews the lease of a lane this worker holds; false when it lost it. */
export async function renewLaneLease(db: SqlExecutor, subscriptionId: string, worker: string, leaseMs: number): Promise<boolean> {
  const rows = await db.query(
    "UPDATE subscription_lane SET lease_until = now() + $3 * interval '1 millisecond' WHERE subscription_id = $1 AND worker = $2 RETURNING subscription_id",
    [subscriptionId, worker, leaseMs],
  );
  return rows.length > 0;
}

/** Removes events delivered longer than `retentionMs` ago; returns how many. */
export async function pruneDeliveredEvents(db: SqlExecutor, retentionMs: number): Promise<number> {
  const rows = await db.query("DELETE FROM subscription_event WHERE delivered_at < now() - $1 * interval '1 millisecond' RETURNING seq", [retentionMs]);
  return rows.length;
}

/** A lane as operators and `$status` see it. */
export interface LaneReport {
  readonly subscriptionId: string;
  readonly status: LaneStatus;
  readonly endpointOrigin: string;
  readonly eventsNumbered: number;
  readonly failures: number;
  readonly lastError?: string;
  readonly lastSentAt?: string;
  readonly nextAttemptAt: string;
  readonly parked: boolean;
  /** Events not yet received (numbered or not). */
  readonly queueDepth: number;
  readonly oldestUndelivered?: string;
}

/** Every lane (or one), with its queue depth and oldest undelivered event. */
export async function laneReports(db: SqlExecutor, subscriptionId?: string): Promise<LaneReport[]> {
  const rows = await db.query<{
    subscription_id: string; status: LaneStatus; endpoint_origin: string; events_numbered: string; failures: number; last_error: string | null;
    last_sent_at: string | Date | null; next_attempt_at: string | Date; parked: boolean; depth: string; oldest: string | Date | null;
  }>(
    `SELECT l.subscription_id, l.status, l.endpoint_origin, l.events_numbered, l.failures, l.last_error, l.last_sent_at, l.next_attempt_at, l.parked,
            q.depth, q.oldest
     FROM subscription_lane l
     CROSS JOIN LATERAL (SELECT count(*) AS depth, min(occurred_at) AS oldest FROM subscription_event e
                         WHERE e.subscription_id = l.subscription_id AND e.delivered_at IS NULL) q
     WHERE $1::text IS NULL OR l.subscription_id = $1
     ORDER BY l.subscription_id`,
    [subscriptionId ?? null],
  );
  return rows.map((row) => ({
    subscriptionId: row.subscription_id,
    status: row.status,
    endpointOrigin: row.endpoint_origin,
    eventsNumbered: Number(row.events_numbered),
    failures: Number(row.failures),
    lastError: row.last_error ?? undefined,
    lastSentAt: row.last_sent_at === null ? undefined : new Date(row.last_sent_at).toISOString(),
    nextAttemptAt: new Date(row.next_attempt_at).toISOString(),
    parked: row.parked,
    queueDepth: Number(row.depth),
    oldestUndelivered: row.oldest === null ? undefined : new Date(row.oldest).toISOString(),
  }));
}

/** Parks a lane with the reason (a failed handshake): nothing is sent until the client sets the Subscription active again. */
export async function parkLane(db: SqlExecutor, subscriptionId: string, worker: string, error: string): Promise<void> {
  await db.query(
    `UPDATE subscription_lane SET parked = true, failures = failures + 1, first_failure_at = coalesce(first_failure_at, now()), last_error = $3,
       worker = NULL, lease_until = NULL WHERE subscription_id = $1 AND worker = $2`,
    [subscriptionId, worker, error.slice(0, 1000)],
  );
}
