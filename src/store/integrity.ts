import type { SqlExecutor } from './database.ts';

/** A resource whose history is not one unbroken chain ending in its current version. */
export interface BrokenVersionChain {
  readonly resourceType: string;
  readonly id: string;
  readonly problem: string;
}

/**
 * Every resource's history must be versions 1..n without gaps, its current row version n with
 * the same content and deletion state as history's version n, and no history without a current
 * row. Used by `kanplan check` after a crash or restore.
 */
export async function findBrokenVersionChains(db: SqlExecutor, limit = 1000): Promise<BrokenVersionChain[]> {
  const rows = await db.query<{ resource_type: string; id: string; version_id: number; n: number; min_v: number | null; max_v: number | null; same_content: boolean | null; same_deleted: boolean | null }>(
    `SELECT r.resource_type, r.id, r.version_id, h.n, h.min_v, h.max_v,
            (lh.content IS NOT DISTINCT FROM r.content) AS same_content, (lh.deleted = r.deleted) AS same_deleted
     FROM resource r
     CROSS JOIN LATERAL (SELECT count(*)::int AS n, min(version_id) AS min_v, max(version_id) AS max_v
                         FROM resource_history WHERE resource_type = r.resource_type AND id = r.id) h
     LEFT JOIN resource_history lh ON lh.resource_type = r.resource_type AND lh.id = r.id AND lh.version_id = r.version_id
     WHERE NOT (h.n = r.version_id AND h.min_v = 1 AND h.max_v = r.version_id
                AND lh.content IS NOT DISTINCT FROM r.content AND lh.deleted = r.deleted)
     LIMIT $1`,
    [limit],
  );
  const broken: BrokenVersionChain[] = rows.map((row) => ({
    resourceType: row.resource_type,
    id: row.id,
    problem:
      row.same_content === null
        ? `current version ${row.version_id} is missing from history (history holds ${row.n} versions)`
        : row.n !== row.version_id || row.min_v !== 1 || row.max_v !== row.version_id
          ? `history holds ${row.n} versions numbered ${row.min_v}..${row.max_v}, the current version is ${row.version_id}`
          : 'the current row differs from its version in history',
  }));
  const orphans = await db.query<{ resource_type: string; id: string }>(
    `SELECT DISTINCT h.resource_type, h.id FROM resource_history h
     WHERE NOT EXISTS (SELECT 1 FROM resource r WHERE r.resource_type = h.resource_type AND r.id = h.id) LIMIT $1`,
    [limit],
  );
  for (const row of orphans) broken.push({ resourceType: row.resource_type, id: row.id, problem: 'history without a current row' });
  return broken;
}

/** One page of current (not deleted) resources in key order, for checks that walk them all. */
export async function currentResourcesAfter(db: SqlExecutor, after: { resourceType: string; id: string } | undefined, limit: number): Promise<{ resourceType: string; id: string; content: string; indexHash: string | null }[]> {
  const rows = await db.query<{ resource_type: string; id: string; content: string; index_hash: string | null }>(
    `SELECT resource_type, id, content, index_hash FROM resource
     WHERE NOT deleted AND ($1::text IS NULL OR (resource_type, id) > ($1, $2))
     ORDER BY resource_type, id LIMIT $3`,
    [after?.resourceType ?? null, after?.id ?? null, limit],
  );
  return rows.map((row) => ({ resourceType: row.resource_type, id: row.id, content: row.content, indexHash: row.index_hash }));
}
