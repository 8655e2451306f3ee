import { badRequest } from '../outcomes.ts';
import type { SortKey } from './sort.ts';
import type { SqlBuilder } from './sql.ts';

/**
 * Keyset paging (https://hl7.org/fhir/R4/http.html#paging): a page link carries the sort-key
 * values of the last (next) or first (previous) row of the current page, and the next query
 * continues strictly after (before) them in the total order (sort keys, resource_type, id).
 * Rows inserted or deleted meanwhile never shift a page boundary, so nothing is skipped or repeated.
 */
export interface Cursor {
  readonly direction: 'next' | 'previous';
  readonly values: readonly (string | null)[];
  readonly resourceType: string;
  readonly id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'next' ? 'n' : 'p', cursor.values, cursor.resourceType, cursor.id])).toString(
    'base64url',
  );
}

export function decodeCursor(value: string, keyCount: number): Cursor {
  try {
    const [d, values, resourceType, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    if (
      (d === 'n' || d === 'p') &&
      Array.isArray(values) &&
      values.length === keyCount &&
      values.every((v) => v === null || typeof v === 'string') &&
      typeof resourceType === 'string' &&
      typeof id === 'string'
    ) {
      return { direction: d === 'n' ? 'next' : 'previous', values: values as (string | null)[], resourceType, id };
    }
  } catch {
    // fall through
  }
  throw badRequest(
    '_cursor is not a page cursor of this search; follow the next/previous links of the Bundle without changing _sort.',
    '_cursor',
  );
}

/** WHERE condition over the outer alias `s` (columns k0..kn, resource_type, id) for a cursor. */
export function keysetCondition(q: SqlBuilder, keys: readonly SortKey[], cursor: Cursor): string {
  const forward = cursor.direction === 'next';
  const tie = `(s.resource_type, s.id) ${forward ? '>' : '<'} (${q.bind(cursor.resourceType)}::text, ${q.bind(cursor.id)}::text)`;
  let condition = tie;
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i];
    const col = `s.k${i}`;
    const v = cursor.values[i];
    if (v === null) {
      condition = forward ? `(${col} IS NULL AND ${condition})` : `(${col} IS NOT NULL OR (${col} IS NULL AND ${condition}))`;
      continue;
    }
    const bound = `${q.bind(v)}::${key.sqlType}`;
    const after = key.descending ? '<' : '>';
    const before = key.descending ? '>' : '<';
    condition = forward
      ? `(${col} ${after} ${bound} OR ${col} IS NULL OR (${col} = ${bound} AND ${condition}))`
      : `(${col} ${before} ${bound} OR (${col} = ${bound} AND ${condition}))`;
  }
  return condition;
}

/** ORDER BY for reading forward (nulls last) or backward from a previous-page cursor. */
export function orderBy(keys: readonly SortKey[], forward: boolean): string {
  const parts = keys.map((key, i) => {
    const ascending = key.descending !== forward;
    return forward ? `s.k${i} ${ascending ? 'ASC' : 'DESC'} NULLS LAST` : `s.k${i} ${ascending ? 'ASC' : 'DESC'} NULLS FIRST`;
  });
  const dir = forward ? 'ASC' : 'DESC';
  parts.push(`s.resource_type ${dir}`, `s.id ${dir}`);
  return parts.join(', ');
}
