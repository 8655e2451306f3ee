import type { Conformance } from '../conformance/conformance.ts';
import { badRequest } from '../outcomes.ts';
import type { SqlStatement } from '../store/database.ts';
import type { Repository } from '../store/repository.ts';
import { patientCompartmentCondition } from './compartments.ts';
import { searchTarget, type SearchTarget } from './condition-target.ts';
import { RESULT_PARAMS, isIncludeName } from './parse-search.ts';
import { SqlBuilder } from './sql.ts';
import { whereClause } from './where-clause.ts';

/** Which resources of a type a Bulk Data export reads (https://hl7.org/fhir/uv/bulkdata/STU2/export.html). */
export interface ExportBatchQuery {
  readonly resourceType: string;
  /** The transaction point the export reads as of: every resource in the version current at it. */
  readonly point: number;
  /** `_since`: versions written after a transaction point (exact), or last updated after an instant. */
  readonly since?: { readonly tx: number } | { readonly instant: string };
  /**
   * `'any'`: only resources in some Patient compartment (Patient-level export); a list: in these
   * patients' compartments (Group export); absent: every resource of the type (system export).
   */
  readonly patients?: readonly string[] | 'any';
  /** `_typeFilter` queries of this type (the part after `?`); a resource matching any of them is exported. */
  readonly filters?: readonly string[];
  /** Continue after this id (keyset: the batches of a type follow the primary key). */
  readonly afterId?: string;
  readonly limit: number;
  /** Provenance only: `includeAssociatedData`, the Provenance of the resources the export's other types hold. */
  readonly associated?: AssociatedProvenance;
}

/**
 * `includeAssociatedData` (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters): the
 * Provenance whose `target` is a resource the export holds — every one (`relevant`,
 * RelevantProvenanceResources) or, per exported resource, its latest (`latest`,
 * LatestProvenanceResources: no Provenance targeting it was written later, up to the point).
 */
export interface AssociatedProvenance {
  readonly which: 'latest' | 'relevant';
  /** The export's other types, each with its `_typeFilter` queries: the resources whose Provenance is exported. */
  readonly of: readonly { readonly resourceType: string; readonly filters?: readonly string[] }[];
  /** Provenance is also an exported type of its own: its own membership and filters select too. */
  readonly asType: boolean;
}

/** A `_typeFilter` query's parameters, checked: search parameters only, no result parameters. */
export function typeFilterParams(resourceType: string, query: string): [string, string][] {
  const params = [...new URLSearchParams(query)];
  const shaping = params.filter(([name]) => RESULT_PARAMS.has(name) || isIncludeName(name));
  if (shaping.length) {
    throw badRequest(`_typeFilter=${resourceType}?${query}: ${shaping.map(([n]) => n).join(', ')} shape results and cannot filter an export; use search parameters only.`, '_typeFilter');
  }
  if (!params.length) throw badRequest(`_typeFilter=${resourceType}? names no search parameter.`, '_typeFilter');
  return params;
}

function membership(conformance: Conformance, q: SqlBuilder, target: SearchTarget, resourceType: string, patients: readonly string[] | 'any'): string {
  if (patients !== 'any') {
    return patientCompartmentCondition({ q, baseUrl: '', conformance }, target, resourceType, patients);
  }
  if (resourceType === 'Patient') return 'true';
  const params = conformance.searchParameters.compartmentParams('Patient', resourceType) ?? [];
  if (!params.length) return 'false';
  const m = q.alias('m');
  return `EXISTS (SELECT 1 FROM sp_reference ${m} WHERE ${m}.resource_type = ${target.typeExpr} AND ${m}.resource_id = ${target.idExpr} AND ${m}.code = ANY(${q.bind(params)}::text[]) AND ${m}.target_type = 'Patient')`;
}


/**
 * The version of `row` (a `resource` row) current at the transaction point, as `version`: the row
 * itself when it was written at or before the point (nearly always), else the last history version
 * at or before it; none when the resource was created after the point.
 */
function asOfPoint(q: SqlBuilder, row: string, point: string, version: string): string {
  const h = q.alias('h');
  return `CROSS JOIN LATERAL (
      SELECT ${row}.content, ${row}.tx, ${row}.deleted, ${row}.last_updated WHERE ${row}.tx <= ${point}
      UNION ALL
      SELECT * FROM (SELECT ${h}.content, ${h}.tx, ${h}.deleted, ${h}.last_updated FROM resource_history ${h}
        WHERE ${row}.tx > ${point} AND ${h}.resource_type = ${row}.resource_type AND ${h}.id = ${row}.id AND ${h}.tx <= ${point}
        ORDER BY ${h}.version_id DESC LIMIT 1) AS prior
    ) AS ${version}`;
}

/** `_since` on a version: written after a transaction point (exact), or last updated after an instant. */
function sinceCondition(q: SqlBuilder, version: string, since: ExportBatchQuery['since']): string[] {
  if (since && 'tx' in since) return [`${version}.tx > ${q.bind(since.tx)}`];
  if (since && 'instant' in since) return [`${version}.last_updated > ${q.bind(since.instant)}::timestamptz`];
  return [];
}

/** That resource `r` matches one of a type's `_typeFilter` queries (judged on the search index). */
function typeFilterCondition(conformance: Conformance, q: SqlBuilder, resourceType: string, filters: readonly string[]): string {
  const target: SearchTarget = { ...searchTarget([resourceType]), row: 'r' };
  const input = { resourceTypes: [resourceType], params: [], baseUrl: '', lenient: false, defaultPageSize: 1, maxPageSize: 1 };
  const alternatives = filters.map((filter) => {
    const params = typeFilterParams(resourceType, filter);
    return `(${whereClause(conformance, q, { ...input, params }, target, params)})`;
  });
  return `(${alternatives.join(' OR ')})`;
}

/**
 * That the resource in `row` is one the export holds, whatever its type (one of `associated.of`):
 * in a Patient compartment (of one of `patients`) when the export is Patient- or Group-level, and
 * matching its type's `_typeFilter`. Written once for all types, with the compartment parameters
 * as `Type.code` pairs, so the statement does not grow with the number of types or members.
 */
function heldByExport(conformance: Conformance, q: SqlBuilder, row: string, query: ExportBatchQuery, associated: AssociatedProvenance): string[] {
  const conditions: string[] = [];
  if (query.patients !== undefined) {
    const m = q.alias('m');
    const pairs = associated.of.flatMap(({ resourceType }) => (conformance.searchParameters.compartmentParams('Patient', resourceType) ?? []).map((code) => `${resourceType}.${code}`));
    const ids = query.patients === 'any' ? undefined : q.bind([...query.patients]);
    conditions.push(`((${row}.resource_type = 'Patient'${ids ? ` AND ${row}.id = ANY(${ids}::text[])` : ''})
      OR EXISTS (SELECT 1 FROM sp_reference ${m} WHERE ${m}.resource_type = ${row}.resource_type AND ${m}.resource_id = ${row}.id
        AND ${m}.target_type = 'Patient'${ids ? ` AND ${m}.target_id = ANY(${ids}::text[])` : ''}
        AND (${m}.resource_type || '.' || ${m}.code) = ANY(${q.bind(pairs)}::text[])))`);
  }
  for (const { resourceType, filters } of associated.of) {
    if (!filters?.length) continue;
    // The filter's conditions are written over `r`: a correlated probe of this one resource.
    const filtered = `EXISTS (SELECT 1 FROM resource r WHERE r.resource_type = ${q.bind(resourceType)} AND r.id = ${row}.id AND ${typeFilterCondition(conformance, q, resourceType, filters)})`;
    conditions.push(`(${row}.resource_type <> ${q.bind(resourceType)} OR ${filtered})`);
  }
  return conditions;
}

/**
 * That Provenance `r` (version `v`) is associated with a resource the export holds: one of its
 * `target` index rows points at a resource of an exported type that, as of the point, exists and
 * passes the export's `_since`, compartment and `_typeFilter` conditions; for `latest`, no
 * Provenance written later (up to the point) targets that resource. The Provenance rows are walked
 * in id order like any type's, so each is written once however many exported resources it targets
 * (a document import's Provenance targets the whole import) and the statement stays one keyset batch.
 * OFFSET 0 keeps the EXISTS a probe of each Provenance: flattened into a semi-join, PostgreSQL
 * joined every Provenance target with every resource for each batch (seconds per batch at 2,750
 * members; quadratic over the export).
 */
function associatedCondition(conformance: Conformance, q: SqlBuilder, point: string, query: ExportBatchQuery, associated: AssociatedProvenance): string {
  const t = q.alias('t');
  const x = q.alias('x');
  const xv = q.alias('xv');
  const conditions = [
    `${t}.resource_type = 'Provenance'`, `${t}.resource_id = r.id`, `${t}.code = 'target'`,
    `${t}.target_type = ANY(${q.bind(associated.of.map((o) => o.resourceType))}::text[])`,
    `NOT ${xv}.deleted`,
    ...sinceCondition(q, xv, query.since),
    ...heldByExport(conformance, q, x, query, associated),
  ];
  if (associated.which === 'latest') {
    const t2 = q.alias('t');
    const p2 = q.alias('p');
    conditions.push(`NOT EXISTS (SELECT 1 FROM sp_reference ${t2} JOIN resource ${p2} ON ${p2}.resource_type = 'Provenance' AND ${p2}.id = ${t2}.resource_id
      WHERE ${t2}.target_id = ${t}.target_id AND ${t2}.target_type = ${t}.target_type AND ${t2}.code = 'target' AND ${t2}.resource_type = 'Provenance'
        AND ${p2}.tx > v.tx AND ${p2}.tx <= ${point} AND NOT ${p2}.deleted)`);
  }
  return `EXISTS (SELECT 1 FROM sp_reference ${t}
      JOIN resource ${x} ON ${x}.resource_type = ${t}.target_type AND ${x}.id = ${t}.target_id
      ${asOfPoint(q, x, point, xv)}
      WHERE ${conditions.join(' AND ')} OFFSET 0)`;
}

/**
 * One batch of an export: up to `limit` resources of one type after `afterId` in id order, each in
 * the version current at the transaction point (`asOfPoint`); resources created after the point,
 * or deleted at it, are left out. So an export reads one consistent state however long it runs and
 * whatever is written meanwhile. Compartment membership and `_typeFilter` are judged on the search
 * index, which follows the current version: a resource changed after the point is exported (as of
 * the point) when its current version matches.
 */
export async function exportBatch(conformance: Conformance, repo: Repository, query: ExportBatchQuery): Promise<{ id: string; content: string }[]> {
  const statement = exportBatchStatement(conformance, query);
  return repo.sql.query<{ id: string; content: string }>(statement.sql, statement.params);
}

/**
 * The statement of one export batch (columns `id`, `content`, in id order), for the store to run
 * inside another statement: an export part is written by `INSERT … SELECT` from it
 * (store/job-store.ts), so the resources go from table to part inside the database and never
 * through the server's memory (issue 17: memory stays flat).
 */
export function exportBatchStatement(conformance: Conformance, query: ExportBatchQuery): SqlStatement {
  const q = new SqlBuilder();
  const point = q.bind(query.point);
  const type = q.bind(query.resourceType);
  const conditions = [`r.resource_type = ${type}`, 'NOT v.deleted', ...sinceCondition(q, 'v', query.since)];
  if (query.afterId !== undefined) conditions.push(`r.id > ${q.bind(query.afterId)}`);
  const associated = query.associated;
  // The type's own selection; none for Provenance brought only by includeAssociatedData (every bound parameter must be used).
  const own: string[] = [];
  const target: SearchTarget = { ...searchTarget([query.resourceType]), row: 'r' };
  if (query.patients !== undefined && associated?.asType !== false) own.push(membership(conformance, q, target, query.resourceType, query.patients));
  if (query.filters?.length && associated?.asType !== false) own.push(typeFilterCondition(conformance, q, query.resourceType, query.filters));
  if (associated === undefined || (associated.asType && own.length === 0)) {
    // Every resource of the type is exported anyway (a system export of Provenance): nothing to add.
    conditions.push(...own);
  } else {
    const mine = associated.asType ? `(${own.join(' AND ')}) OR ` : '';
    conditions.push(`(${mine}${associatedCondition(conformance, q, point, query, associated)})`);
  }
  const sql = `SELECT r.id, v.content FROM resource r
    ${asOfPoint(q, 'r', point, 'v')}
    WHERE ${conditions.join(' AND ')}
    ORDER BY r.id LIMIT ${q.bind(query.limit)}`;
  return { sql, params: q.params };
}
