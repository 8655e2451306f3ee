import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { badRequest } from '../outcomes.ts';
import { lookupParam } from './condition-target.ts';
import type { SqlBuilder } from './sql.ts';

/** One `_sort` key as SQL: an expression over the resource row `r`, its SQL type and direction. */
export interface SortKey {
  readonly name: string;
  readonly expr: string;
  readonly sqlType: 'text' | 'timestamptz' | 'numeric';
  readonly descending: boolean;
}

/**
 * Parses `_sort=a,-b` (https://hl7.org/fhir/R4/search.html#sort). Multi-valued parameters sort
 * by their lowest value ascending and their highest value descending.
 */
export function parseSort(q: SqlBuilder, parameters: SearchParameterRegistry, resourceTypes: readonly string[], value: string): SortKey[] {
  const keys: SortKey[] = [];
  for (const item of value.split(',')) {
    const descending = item.startsWith('-');
    const code = descending ? item.slice(1) : item;
    if (!code) {
      throw badRequest(`_sort has an empty key in '${value}'; use _sort=key1,-key2.`, '_sort');
    }
    if (code === '_id') {
      keys.push({ name: item, expr: 'r.id', sqlType: 'text', descending });
      continue;
    }
    if (code === '_lastUpdated') {
      keys.push({ name: item, expr: 'r.last_updated', sqlType: 'timestamptz', descending });
      continue;
    }
    const def = lookupParam(parameters, resourceTypes, code, code, '_sort');
    const agg = descending ? 'max' : 'min';
    const where = (a: string): string =>
      `${a}.resource_type = r.resource_type AND ${a}.resource_id = r.id AND ${a}.code = ${q.bind(code)}`;
    const a = q.alias('s');
    switch (def.type) {
      case 'string':
        keys.push({ name: item, expr: `(SELECT ${agg}(${a}.norm) FROM sp_string ${a} WHERE ${where(a)})`, sqlType: 'text', descending });
        break;
      case 'token':
        keys.push({ name: item, expr: `(SELECT ${agg}(${a}.value) FROM sp_token ${a} WHERE ${where(a)})`, sqlType: 'text', descending });
        break;
      case 'uri':
        keys.push({ name: item, expr: `(SELECT ${agg}(${a}.value) FROM sp_uri ${a} WHERE ${where(a)})`, sqlType: 'text', descending });
        break;
      case 'reference':
        keys.push({
          name: item,
          expr: `(SELECT ${agg}(coalesce(${a}.target_type || '/' || ${a}.target_id, ${a}.url)) FROM sp_reference ${a} WHERE ${where(a)})`,
          sqlType: 'text',
          descending,
        });
        break;
      case 'date':
        keys.push({
          name: item,
          expr: `(SELECT ${agg}(${a}.${descending ? 'high' : 'low'}) FROM sp_date ${a} WHERE ${where(a)})`,
          sqlType: 'timestamptz',
          descending,
        });
        break;
      case 'number':
        keys.push({ name: item, expr: `(SELECT ${agg}(${a}.value) FROM sp_number ${a} WHERE ${where(a)})`, sqlType: 'numeric', descending });
        break;
      case 'quantity':
        keys.push({ name: item, expr: `(SELECT ${agg}(${a}.value) FROM sp_quantity ${a} WHERE ${where(a)})`, sqlType: 'numeric', descending });
        break;
      default:
        throw badRequest(`_sort: ${code} is a ${def.type} parameter and cannot be sorted on.`, '_sort');
    }
  }
  return keys;
}
