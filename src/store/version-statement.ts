import type { Resource } from '@medplum/fhirtypes';
import type { SqlExecutor, SqlParam } from './database.ts';
import type { StoredVersion, VersionMethod } from './repository.ts';
import { ConcurrentCreateError } from './store-errors.ts';
import { TX_NUMBER_LOCK } from './transaction-points.ts';
import type { VersionToWrite, WriteParticipant } from './write-participant.ts';

const PG_UNIQUE_VIOLATION = '23505';

/** A version queued for the transaction's write statement. */
export interface PendingVersion extends VersionToWrite {
  /** The JSON text stored in `content`; null for a delete marker. */
  readonly content: string | null;
}

/** The next version of `resource` after `previous` (undefined: a new id), stamped now. */
export function nextVersion(resource: Resource & { id: string }, previous: StoredVersion | undefined, method: Exclude<VersionMethod, 'DELETE'>): PendingVersion {
  const versionId = (previous?.versionId ?? 0) + 1;
  const lastUpdated = new Date().toISOString();
  const stored = { ...resource, meta: { ...resource.meta, versionId: String(versionId), lastUpdated } } as Resource & { id: string };
  return {
    resourceType: stored.resourceType,
    id: stored.id,
    versionId,
    lastUpdated,
    method,
    resource: stored,
    content: JSON.stringify(stored),
    replaces: previous !== undefined,
  };
}

/** A delete marker after `previous`: a version without content. */
export function deletionVersion(previous: StoredVersion): PendingVersion {
  return {
    resourceType: previous.resourceType,
    id: previous.id,
    versionId: previous.versionId + 1,
    lastUpdated: new Date().toISOString(),
    method: 'DELETE',
    content: null,
    replaces: true,
  };
}

/**
 * Writes `versions` — their `resource` rows (insert or update), history rows and every write
 * participant's rows — in one statement whose text depends on which parts are needed, not on
 * how many versions there are, so PostgreSQL prepares it once. A transaction Bundle of 25 entries
 * costs one round trip here instead of 25; on this 2-core machine each round trip costs about as
 * much CPU as the statement (docs/architecture.md, "One statement per transaction's writes").
 * `txNumber` null: the statement takes the next transaction number itself, so a write that is
 * alone in its transaction needs no BEGIN, nextval or COMMIT.
 */
export async function writeVersions(
  executor: SqlExecutor,
  versions: readonly PendingVersion[],
  txNumber: number | null,
  participants: readonly WriteParticipant[],
): Promise<void> {
  const params: SqlParam[] = [
    versions.map((v) => v.resourceType),
    versions.map((v) => v.id),
    versions.map((v) => v.versionId),
    versions.map((v) => v.lastUpdated),
    versions.map((v) => v.content),
    versions.map((v) => v.method),
    versions.map((v) => (v.replaces ? 'u' : 'c')),
    txNumber,
    participants.find((p) => p.indexHash !== undefined)?.indexHash ?? null,
  ];
  const bind = (value: SqlParam): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const participantStatements = participants.flatMap((participant) => participant.statementsFor(versions, bind));
  const ctes = [
    `v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
           AS v(resource_type, id, version_id, last_updated, content, method, kind))`,
    // COALESCE evaluates nextval only when no number is given (https://www.postgresql.org/docs/current/functions-conditional.html).
    // Under the shared number lock, taken before the number (transaction-points.ts).
    `t AS (SELECT COALESCE($8::bigint, nextval('tx_seq')) AS tx FROM (SELECT pg_advisory_xact_lock_shared(${TX_NUMBER_LOCK}) OFFSET 0) AS held)`,
    `h AS (INSERT INTO resource_history (resource_type, id, version_id, tx, last_updated, method, deleted, content)
           SELECT resource_type, id, version_id, t.tx, last_updated::timestamptz, method, method = 'DELETE', content FROM v, t)`,
    // Left out when nothing is replaced: one statement less to plan for the common create.
    ...(versions.some((v) => v.replaces)
      ? [
          `u AS (UPDATE resource r SET version_id = v.version_id, tx = t.tx, last_updated = v.last_updated::timestamptz,
                 deleted = v.method = 'DELETE', content = v.content, index_hash = $9
           FROM v, t WHERE v.kind = 'u' AND r.resource_type = v.resource_type AND r.id = v.id)`,
        ]
      : []),
    ...participantStatements.map((statement, i) => `p${i} AS (${statement})`),
  ];
  try {
    await executor.query(
      `WITH ${ctes.join(', ')}
       INSERT INTO resource (resource_type, id, version_id, tx, last_updated, deleted, content, index_hash)
       SELECT resource_type, id, version_id, t.tx, last_updated::timestamptz, false, content, $9 FROM v, t WHERE v.kind = 'c'`,
      params,
    );
  } catch (err) {
    if ((err as { code?: string }).code === PG_UNIQUE_VIOLATION) {
      throw new ConcurrentCreateError(versions.filter((v) => !v.replaces).map((v) => `${v.resourceType}/${v.id}`));
    }
    throw err;
  }
}
