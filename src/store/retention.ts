import type { SqlExecutor } from './database.ts';

/**
 * Removes, for good, resources of one type last written before `before`: their `resource` rows,
 * every version in `resource_history` and their rows in the given search index tables, at most
 * `limit` resources per call (one statement; rows another transaction holds are skipped and
 * taken next time). For records the server keeps for a set time, such as AuditEvents
 * (AUDIT_RETENTION_DAYS), not for clinical data, whose deletes keep history.
 * `indexTables` are names from the search index's fixed list (they go into SQL text).
 */
export async function pruneResourcesBefore(
  db: SqlExecutor,
  resourceType: string,
  before: Date,
  indexTables: readonly string[],
  limit = 5_000,
): Promise<number> {
  for (const table of indexTables) {
    if (!/^sp_[a-z]+$/.test(table)) throw new Error(`not a search index table: ${table}`);
  }
  const indexDeletes = indexTables.map(
    (table, i) => `i${i} AS (DELETE FROM ${table} d USING old WHERE d.resource_type = $1 AND d.resource_id = old.id)`,
  );
  const [row] = await db.query<{ removed: string }>(
    `WITH old AS (
       SELECT id FROM resource WHERE resource_type = $1 AND last_updated < $2 ORDER BY last_updated LIMIT $3 FOR UPDATE SKIP LOCKED
     ),
     ${[...indexDeletes, 'h AS (DELETE FROM resource_history h USING old WHERE h.resource_type = $1 AND h.id = old.id)'].join(',\n     ')},
     r AS (DELETE FROM resource r USING old WHERE r.resource_type = $1 AND r.id = old.id RETURNING 1)
     SELECT count(*) AS removed FROM r`,
    [resourceType, before.toISOString(), limit],
  );
  return Number(row.removed);
}
