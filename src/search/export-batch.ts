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
  return `EXISTS (SELECT 1 FROM sp_reference m WHERE m.resource_type = r.resource_type AND m.resource_id = r.id AND m.code = ANY(${q.bind(params)}::text[]) AND m.target_type = 'Patient')`;
}

/**
 * One batch of an export: up to `limit` resources of one type after `afterId` in id order, each in
 * the version current at the transaction point — the `resource` row when it was written at or
 * before it (nearly always), else the last history version at or before it; resources created
 * after the point, or deleted at it, are left out. So an export reads one consistent state however
 * long it runs and whatever is written meanwhile. Compartment membership and `_typeFilter` are
 * judged on the search index, which follows the current version: a resource changed after the
 * point is exported (as of the point) when its current version matches.
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
  const conditions = [`r.resource_type = ${type}`, 'NOT v.deleted'];
  if (query.afterId !== undefined) conditions.push(`r.id > ${q.bind(query.afterId)}`);
  if (query.since && 'tx' in query.since) conditions.push(`v.tx > ${q.bind(query.since.tx)}`);
  if (query.since && 'instant' in query.since) conditions.push(`v.last_updated > ${q.bind(query.since.instant)}::timestamptz`);
  const target: SearchTarget = { ...searchTarget([query.resourceType]), row: 'r' };
  if (query.patients !== undefined) conditions.push(membership(conformance, q, target, query.resourceType, query.patients));
  if (query.filters?.length) {
    const input = { resourceTypes: [query.resourceType], params: [], baseUrl: '', lenient: false, defaultPageSize: 1, maxPageSize: 1 };
    const alternatives = query.filters.map((filter) => {
      const params = typeFilterParams(query.resourceType, filter);
      return `(${whereClause(conformance, q, { ...input, params }, target, params)})`;
    });
    conditions.push(`(${alternatives.join(' OR ')})`);
  }
  const sql = `SELECT r.id, v.content FROM resource r
    CROSS JOIN LATERAL (
      SELECT r.content, r.tx, r.deleted, r.last_updated WHERE r.tx <= ${point}
      UNION ALL
      SELECT * FROM (SELECT h.content, h.tx, h.deleted, h.last_updated FROM resource_history h
        WHERE r.tx > ${point} AND h.resource_type = r.resource_type AND h.id = r.id AND h.tx <= ${point}
        ORDER BY h.version_id DESC LIMIT 1) AS prior
    ) AS v
    WHERE ${conditions.join(' AND ')}
    ORDER BY r.id LIMIT ${q.bind(query.limit)}`;
  return { sql, params: q.params };
}
