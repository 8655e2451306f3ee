import type { Resource } from '@medplum/fhirtypes';
import type { SqlExecutor, SqlParam } from '../store/database.ts';
import type { WriteParticipant } from '../store/write-participant.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { extractIndexParts, type ExtractOptions, type IndexedPart } from './extract.ts';
import type { IndexRows } from './index-rows.ts';

/** Index tables and their value columns (a fixed whitelist: these names go into SQL text). */
export const TABLES: { readonly [K in keyof IndexRows]: { table: string; columns: readonly string[]; casts: readonly string[] } } = {
  token: { table: 'sp_token', columns: ['code', 'system', 'value', 'text'], casts: ['text', 'text', 'text', 'text'] },
  string: { table: 'sp_string', columns: ['code', 'norm', 'value'], casts: ['text', 'text', 'text'] },
  reference: { table: 'sp_reference', columns: ['code', 'target_type', 'target_id', 'url'], casts: ['text', 'text', 'text', 'text'] },
  date: { table: 'sp_date', columns: ['code', 'low', 'high'], casts: ['text', 'timestamptz', 'timestamptz'] },
  number: { table: 'sp_number', columns: ['code', 'value'], casts: ['text', 'numeric'] },
  quantity: {
    table: 'sp_quantity',
    columns: ['code', 'value', 'system', 'unit_code', 'unit'],
    casts: ['text', 'numeric', 'text', 'text', 'text'],
  },
  uri: { table: 'sp_uri', columns: ['code', 'value'], casts: ['text', 'text'] },
  composite: {
    table: 'sp_composite',
    columns: ['code', 'value', 'num', 'system', 'unit_code', 'unit', 'low', 'high'],
    casts: ['text', 'text', 'numeric', 'text', 'text', 'text', 'timestamptz', 'timestamptz'],
  },
};

export const INDEX_TABLES: readonly string[] = Object.values(TABLES).map((t) => t.table);

/** The index rows of one resource to write, and whether it may have rows already. */
interface IndexedResource {
  readonly resourceType: string;
  readonly id: string;
  readonly replaces: boolean;
  readonly parts: readonly IndexedPart[];
}

/**
 * Replaces the index rows of one resource (its own and its contained resources') in one
 * statement; `replace` = it may have rows already. Used by `kanplan reindex`.
 */
export async function writeIndexRows(
  tx: SqlExecutor,
  parameters: SearchParameterRegistry,
  resource: Resource & { id: string },
  replace: boolean,
  options: ExtractOptions = {},
): Promise<void> {
  const params: SqlParam[] = [];
  const bind = (value: SqlParam): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const [last, ...others] = batchStatements([{ resourceType: resource.resourceType, id: resource.id, replaces: replace, parts: extractIndexParts(parameters, resource, options) }], bind).reverse();
  // Data-modifying statements as CTEs of one statement: one round trip.
  await tx.query(others.length ? `WITH ${others.map((statement, i) => `i${i} AS (${statement})`).join(', ')} ${last}` : last, params);
}

/**
 * The search index as a write participant: with every version a transaction writes, the
 * resource's old index rows go and rows extracted by `parameters` come, in the
 * same statement as the resource row. Pass the server's base URL so that absolute references to
 * this server are indexed as local ones.
 */
export function createSearchIndexParticipant(parameters: SearchParameterRegistry, options: ExtractOptions = {}): WriteParticipant {
  return {
    name: 'search index',
    indexHash: parameters.fingerprint,
    statementsFor(versions, bind) {
      return batchStatements(
        versions.map((version) => ({ ...version, parts: version.resource ? extractIndexParts(parameters, version.resource, options) : [] })),
        bind,
      );
    },
  };
}

/**
 * The index writes of many versions as data-modifying statements whose text depends only on
 * which tables get rows and whether any resource is replaced, not on how many (so a handful of
 * texts, each prepared once): one DELETE per table for the resources being replaced, one
 * INSERT ... SELECT unnest(...) per table with rows. Every statement left out is one less for
 * PostgreSQL to plan: measured, a single create with all sixteen cost the server 1.9 ms of CPU
 * against 0.9 ms before batching. Deleting and inserting in one statement is safe: every part
 * sees the snapshot from before the statement.
 * Rows of contained resources go in with their `contained_id` (NULL on the resource's own rows)
 * and are deleted with the container's, since they share its key.
 */
function batchStatements(
  versions: readonly IndexedResource[],
  bind: (value: SqlParam) => string,
): string[] {
  const texts = (values: readonly (string | null)[]): string => `${bind(values)}::text[]`;
  const replaced = versions.filter((v) => v.replaces);
  const statements: string[] = [];
  if (replaced.length > 0) {
    const replacedTypes = texts(replaced.map((v) => v.resourceType));
    const replacedIds = texts(replaced.map((v) => v.id));
    statements.push(
      ...INDEX_TABLES.map(
        (table) => `DELETE FROM ${table} d USING unnest(${replacedTypes}, ${replacedIds}) AS k(resource_type, id)
       WHERE d.resource_type = k.resource_type AND d.resource_id = k.id`,
      ),
    );
  }
  for (const key of Object.keys(TABLES) as (keyof IndexRows)[]) {
    const { table, columns, casts } = TABLES[key];
    const owned = versions.flatMap((v) =>
      v.parts.flatMap((part) => (part.rows[key] as readonly (string | null)[][]).map((row) => ({ resourceType: v.resourceType, id: v.id, containedId: part.containedId, row }))),
    );
    if (owned.length === 0) {
      continue;
    }
    const refs = [
      texts(owned.map((o) => o.resourceType)),
      texts(owned.map((o) => o.id)),
      texts(owned.map((o) => o.containedId)),
      ...columns.map((_, c) => texts(owned.map((o) => o.row[c]))),
    ];
    const select = columns.map((col, c) => (casts[c] === 'text' ? col : `${col}::${casts[c]}`)).join(', ');
    statements.push(
      `INSERT INTO ${table} (resource_type, resource_id, contained_id, ${columns.join(', ')})
       SELECT resource_type, resource_id, contained_id, ${select} FROM unnest(${refs.join(', ')}) AS u(resource_type, resource_id, contained_id, ${columns.join(', ')})`,
    );
  }
  return statements;
}
