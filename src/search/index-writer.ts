import type { Resource } from '@medplum/fhirtypes';
import type { SqlExecutor } from '../store/database.ts';
import type { SearchIndexWriter } from '../store/repository.ts';
import { extractIndexRows, type ExtractOptions, type IndexRows } from './extract.ts';
import { searchFingerprint } from './parameters.ts';

/** Index tables and their value columns (a fixed whitelist: these names go into SQL text). */
const TABLES: { readonly [K in keyof IndexRows]: { table: string; columns: readonly string[]; casts: readonly string[] } } = {
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

/** DELETE statements for every index row of one resource ($1 = resource type, $2 = id). */
function removeStatements(): string[] {
  return INDEX_TABLES.map((table) => `DELETE FROM ${table} WHERE resource_type = $1 AND resource_id = $2`);
}

/** Deletes every index row of one resource, in one statement over all index tables. */
export async function removeIndexRows(tx: SqlExecutor, resourceType: string, id: string): Promise<void> {
  await runAsOneStatement(tx, removeStatements(), [resourceType, id]);
}

/**
 * One `INSERT ... SELECT unnest(...)` per non-empty table for the rows of one resource.
 * `$1` and `$2` are the resource type and id; the column arrays become parameters from
 * `firstParam` on, so the statements can join a larger statement that already uses $1..$n.
 */
export function insertStatements(rows: IndexRows, firstParam: number): { statements: string[]; params: (readonly (string | null)[])[] } {
  const statements: string[] = [];
  const params: (readonly (string | null)[])[] = [];
  for (const key of Object.keys(TABLES) as (keyof IndexRows)[]) {
    const list = rows[key] as readonly (string | null)[][];
    if (!list.length) {
      continue;
    }
    const { table, columns, casts } = TABLES[key];
    const refs = columns.map((_, c) => {
      params.push(list.map((row) => row[c]));
      return `$${firstParam + params.length - 1}::text[]`;
    });
    const select = columns.map((col, c) => (casts[c] === 'text' ? col : `${col}::${casts[c]}`)).join(', ');
    statements.push(
      `INSERT INTO ${table} (resource_type, resource_id, ${columns.join(', ')})
       SELECT $1, $2, ${select} FROM unnest(${refs.join(', ')}) AS u(${columns.join(', ')})`,
    );
  }
  return { statements, params };
}

/** Data-modifying statements as CTEs of one statement: one round trip. */
async function runAsOneStatement(tx: SqlExecutor, statements: readonly string[], params: readonly unknown[]): Promise<void> {
  if (!statements.length) {
    return;
  }
  const [last, ...others] = [...statements].reverse();
  const sql = others.length ? `WITH ${others.map((s, i) => `i${i} AS (${s})`).join(', ')} ${last}` : last;
  await tx.query(sql, params as never);
}

export async function insertIndexRows(tx: SqlExecutor, resourceType: string, id: string, rows: IndexRows): Promise<void> {
  const { statements, params } = insertStatements(rows, 3);
  await runAsOneStatement(tx, statements, [resourceType, id, ...params]);
}

/**
 * The SearchIndexWriter the Repository calls inside each write transaction: replaces the
 * resource's index rows with ones extracted by the current search parameters. Pass the server's
 * base URL so that absolute references to this server are indexed as local ones.
 */
export function createSearchIndexWriter(options: ExtractOptions = {}): SearchIndexWriter {
  return {
    get fingerprint(): string {
      return searchFingerprint();
    },
    async index(tx: SqlExecutor, resource: Resource): Promise<void> {
      const id = resource.id as string;
      const rows = extractIndexRows(resource, options);
      // Version 1 is the first version ever stored under this id, so there are no rows to replace.
      if (resource.meta?.versionId !== '1') {
        await removeIndexRows(tx, resource.resourceType, id);
      }
      await insertIndexRows(tx, resource.resourceType, id, rows);
    },
    async remove(tx: SqlExecutor, resourceType: string, id: string): Promise<void> {
      await removeIndexRows(tx, resourceType, id);
    },
    batchStatementsFor(versions, firstParam) {
      return batchStatements(
        versions.map(({ resource, replace }) => ({ resource, replace, rows: extractIndexRows(resource, options) })),
        firstParam,
      );
    },
  };
}

/**
 * The index writes of many versions as data-modifying statements whose text does not depend on
 * the versions (so PostgreSQL prepares them once): one DELETE per table for the resources being
 * replaced, one INSERT ... SELECT unnest(...) per table for the rows of all of them. Deleting and
 * inserting in one statement is safe: every part sees the snapshot from before the statement.
 */
function batchStatements(
  versions: readonly { resource: Resource; replace: boolean; rows: IndexRows }[],
  firstParam: number,
): { statements: string[]; params: (readonly (string | null)[])[] } {
  const params: (readonly (string | null)[])[] = [];
  const bind = (values: readonly (string | null)[]): string => {
    params.push(values);
    return `$${firstParam + params.length - 1}::text[]`;
  };
  const replaced = versions.filter((v) => v.replace);
  const replacedTypes = bind(replaced.map((v) => v.resource.resourceType));
  const replacedIds = bind(replaced.map((v) => v.resource.id as string));
  const statements = INDEX_TABLES.map(
    (table) => `DELETE FROM ${table} d USING unnest(${replacedTypes}, ${replacedIds}) AS k(resource_type, id)
       WHERE d.resource_type = k.resource_type AND d.resource_id = k.id`,
  );
  for (const key of Object.keys(TABLES) as (keyof IndexRows)[]) {
    const { table, columns, casts } = TABLES[key];
    const owners = versions.flatMap((v) => (v.rows[key] as readonly unknown[]).map(() => v.resource));
    const rows = versions.flatMap((v) => v.rows[key] as readonly (string | null)[][]);
    const refs = [bind(owners.map((r) => r.resourceType)), bind(owners.map((r) => r.id as string)), ...columns.map((_, c) => bind(rows.map((row) => row[c])))];
    const select = columns.map((col, c) => (casts[c] === 'text' ? col : `${col}::${casts[c]}`)).join(', ');
    statements.push(
      `INSERT INTO ${table} (resource_type, resource_id, ${columns.join(', ')})
       SELECT resource_type, resource_id, ${select} FROM unnest(${refs.join(', ')}) AS u(resource_type, resource_id, ${columns.join(', ')})`,
    );
  }
  return { statements, params };
}
