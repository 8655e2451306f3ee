import type { Resource } from '@medplum/fhirtypes';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import type { SqlExecutor, SqlParam } from '../store/database.ts';
import { extractIndexParts, type ExtractOptions } from './extract.ts';
import type { IndexRows } from './index-rows.ts';
import { TABLES } from './index-writer.ts';

/** Index rows of one resource that disagree with its current version. */
export interface IndexDrift {
  readonly resourceType: string;
  readonly id: string;
  readonly table: string;
  /** Rows the current version should have and the table lacks. */
  readonly missing: number;
  /** Rows the table holds that the current version does not give. */
  readonly extra: number;
}

/**
 * Compares the stored index rows of `resources` (current versions, indexed with `parameters`)
 * with the rows extracted from them again, table by table. The comparison runs in SQL with the
 * same casts as the writer (index-writer.ts), so dates and numbers compare as stored, and as
 * multisets (EXCEPT ALL): a duplicated row is drift too.
 */
export async function findIndexDrift(
  tx: SqlExecutor,
  parameters: SearchParameterRegistry,
  resources: readonly (Resource & { id: string })[],
  options: ExtractOptions = {},
): Promise<IndexDrift[]> {
  if (resources.length === 0) return [];
  const parts = resources.map((resource) => ({ resource, parts: extractIndexParts(parameters, resource, options) }));
  const drift: IndexDrift[] = [];
  for (const key of Object.keys(TABLES) as (keyof IndexRows)[]) {
    const { table, columns, casts } = TABLES[key];
    const owned = parts.flatMap(({ resource, parts: own }) =>
      own.flatMap((part) => (part.rows[key] as readonly (string | null)[][]).map((row) => ({ resourceType: resource.resourceType, id: resource.id, containedId: part.containedId, row }))),
    );
    const params: SqlParam[] = [];
    const bind = (values: readonly (string | null)[]): string => {
      params.push(values);
      return `$${params.length}::text[]`;
    };
    const types = bind(resources.map((r) => r.resourceType));
    const ids = bind(resources.map((r) => r.id));
    const refs = [bind(owned.map((o) => o.resourceType)), bind(owned.map((o) => o.id)), bind(owned.map((o) => o.containedId)), ...columns.map((_, c) => bind(owned.map((o) => o.row[c])))];
    const typed = columns.map((col, c) => (casts[c] === 'text' ? col : `${col}::${casts[c]}`)).join(', ');
    const all = `resource_type, resource_id, contained_id, ${columns.join(', ')}`;
    const rows = await tx.query<{ resource_type: string; resource_id: string; missing: number; extra: number }>(
      `WITH expected AS (SELECT resource_type, resource_id, contained_id, ${typed} FROM unnest(${refs.join(', ')}) AS u(${all})),
            stored AS (SELECT ${all} FROM ${table} s WHERE (s.resource_type, s.resource_id) IN (SELECT * FROM unnest(${types}, ${ids}))),
            missing AS (SELECT * FROM expected EXCEPT ALL SELECT * FROM stored),
            extra AS (SELECT * FROM stored EXCEPT ALL SELECT * FROM expected)
       SELECT resource_type, resource_id, sum(m)::int AS missing, sum(e)::int AS extra FROM (
         SELECT resource_type, resource_id, 1 AS m, 0 AS e FROM missing UNION ALL SELECT resource_type, resource_id, 0, 1 FROM extra
       ) d GROUP BY resource_type, resource_id`,
      params,
    );
    for (const row of rows) drift.push({ resourceType: row.resource_type, id: row.resource_id, table, missing: row.missing, extra: row.extra });
  }
  return drift;
}
