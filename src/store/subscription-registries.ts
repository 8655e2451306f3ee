import type { SqlExecutor } from './database.ts';

/**
 * The SQL of the processes' Subscription registries (migration 014): the generation a registry
 * checks on every refresh, each process's liveness, renewed in the same statement, and the
 * requested Subscription versions each registry has loaded. The delivery worker hand-shakes a
 * Subscription (requested → active) only when every live process has acknowledged its version
 * (docs/architecture.md, "Subscriptions").
 */

/**
 * A process counts as live while it renewed its row within this many of its refresh periods plus
 * a grace: generous, because activating without a process that is in fact alive could lose its
 * writes' events, while waiting for one that died only delays a handshake by this window.
 */
const LIVENESS_PERIODS = 5;
const LIVENESS_GRACE_MS = 5_000;
const LIVE = `p.alive_at > now() - (p.refresh_ms * ${LIVENESS_PERIODS} + ${LIVENESS_GRACE_MS}) * interval '1 millisecond'`;

/**
 * Changes with every committed write of a Subscription: each write adds a row (create) or raises
 * its row's version_id by one (update, delete). Not `max(tx)`: transaction numbers are given in
 * start order, not commit order (transaction-points.ts), so an update committing after a
 * later-numbered one would leave max(tx) unchanged and never be loaded.
 */
const GENERATION = "SELECT count(*) || ':' || coalesce(sum(version_id), 0) AS g FROM resource WHERE resource_type = 'Subscription'";

/** One process's registry: a random id per registry, and how often it refreshes. */
export interface RegistryProcess {
  readonly processId: string;
  readonly refreshMs: number;
}

export interface Generation {
  readonly generation: string;
  /** The process's liveness row was (re)created: it had never been recorded, or was pruned as dead meanwhile. */
  readonly newlyAlive: boolean;
}

/** The Subscriptions' generation; with `registry`, also renews that process's liveness, in the same statement. */
export async function subscriptionsGeneration(db: SqlExecutor, registry?: RegistryProcess): Promise<Generation> {
  if (!registry) {
    const [row] = await db.query<{ g: string }>(GENERATION);
    return { generation: String(row?.g ?? ''), newlyAlive: false };
  }
  // xmax = 0 on the returned row: it was inserted, not updated (https://www.postgresql.org/docs/current/ddl-system-columns.html).
  const [row] = await db.query<{ g: string; inserted: boolean }>(
    `WITH alive AS (INSERT INTO subscription_process (process_id, alive_at, refresh_ms) VALUES ($1, now(), $2)
                    ON CONFLICT (process_id) DO UPDATE SET alive_at = now(), refresh_ms = $2 RETURNING xmax = 0 AS inserted)
     SELECT g.g, (SELECT inserted FROM alive) AS inserted FROM (${GENERATION}) AS g`,
    [registry.processId, registry.refreshMs],
  );
  return { generation: String(row?.g ?? ''), newlyAlive: row?.inserted === true };
}

/** A requested Subscription version, as a registry loaded it. */
export interface SubscriptionVersion {
  readonly id: string;
  readonly versionId: number;
}

/** Records that this process's registry now matches these requested Subscription versions. */
export async function acknowledgeSubscriptions(db: SqlExecutor, processId: string, versions: readonly SubscriptionVersion[]): Promise<void> {
  if (versions.length === 0) return;
  await db.query(
    `INSERT INTO subscription_acknowledgement (subscription_id, version_id, process_id)
     SELECT s, v, $3 FROM unnest($1::text[], $2::int[]) AS a(s, v) ON CONFLICT DO NOTHING`,
    [versions.map((v) => v.id), versions.map((v) => v.versionId), processId],
  );
}

/** The live processes whose registry has not yet acknowledged this Subscription version (none: every process matches it). */
export async function processesYetToAcknowledge(db: SqlExecutor, version: SubscriptionVersion): Promise<string[]> {
  const rows = await db.query<{ process_id: string }>(
    `SELECT p.process_id FROM subscription_process p
     WHERE ${LIVE} AND NOT EXISTS (SELECT 1 FROM subscription_acknowledgement a
                                   WHERE a.subscription_id = $1 AND a.version_id = $2 AND a.process_id = p.process_id)
     ORDER BY p.process_id`,
    [version.id, version.versionId],
  );
  return rows.map((row) => row.process_id);
}

/** A process stopping: it matches nothing any more, so no handshake waits for it. */
export async function forgetProcess(db: SqlExecutor, processId: string): Promise<void> {
  await db.query(
    'WITH gone AS (DELETE FROM subscription_acknowledgement WHERE process_id = $1) DELETE FROM subscription_process WHERE process_id = $1',
    [processId],
  );
}

/**
 * Removes processes no longer live (a process that was only stalled records itself again at its
 * next refresh, and acknowledges again) with their acknowledgements, and acknowledgements of
 * Subscription versions that are no longer current (activated, changed or deleted since).
 */
export async function pruneRegistries(db: SqlExecutor): Promise<void> {
  await db.query(
    `WITH dead AS (DELETE FROM subscription_process p WHERE NOT (${LIVE}) RETURNING process_id)
     DELETE FROM subscription_acknowledgement a
     WHERE a.process_id IN (SELECT process_id FROM dead)
        OR NOT EXISTS (SELECT 1 FROM resource r WHERE r.resource_type = 'Subscription' AND r.id = a.subscription_id AND r.version_id = a.version_id)`,
  );
}
