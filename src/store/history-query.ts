import type { SqlParam } from './database.ts';
import type { HistoryQuery } from './repository.ts';

/**
 * The statement of a history page: versions newest first, paged by the keyset (tx, type, id,
 * version) so a page boundary never moves when new versions are written.
 */
export function historyStatement(query: HistoryQuery): { sql: string; params: SqlParam[] } {
  const where: string[] = [];
  const params: SqlParam[] = [];
  const add = (sql: string, value: string | number): void => {
    params.push(value);
    where.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (query.resourceType) {
    add('h.resource_type = ?', query.resourceType);
  }
  if (query.id) {
    add('h.id = ?', query.id);
  }
  if (query.since) {
    add('h.last_updated >= ?::timestamptz', query.since);
  }
  if (query.at) {
    add('h.last_updated < ?::timestamptz', query.at.until);
    // Still current at `from`: no later version of the resource was written by then.
    add(`NOT EXISTS (SELECT 1 FROM resource_history n WHERE n.resource_type = h.resource_type
      AND n.id = h.id AND n.version_id > h.version_id AND n.last_updated <= ?::timestamptz)`, query.at.from);
  }
  if (query.beforeKey) {
    const k = query.beforeKey;
    params.push(k.tx, k.resourceType, k.id, k.versionId);
    const n = params.length;
    where.push(`(h.tx, h.resource_type, h.id, h.version_id) < ($${n - 3}, $${n - 2}, $${n - 1}, $${n})`);
  }
  params.push(query.count);
  return {
    sql: `SELECT h.resource_type, h.id, h.version_id, h.tx, h.last_updated, h.deleted, h.content, h.method
       FROM resource_history h
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY h.tx DESC, h.resource_type DESC, h.id DESC, h.version_id DESC
       LIMIT $${params.length}`,
    params,
  };
}
