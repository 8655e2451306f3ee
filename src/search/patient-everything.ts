import type { Conformance } from '../conformance/conformance.ts';
import type { Repository } from '../store/repository.ts';
import { SqlBuilder } from './sql.ts';

/**
 * Types outside the Patient compartment that `$everything` adds when a compartment resource
 * references them: who provides the care, where, and with what — what a reader of the record needs
 * to make sense of it (https://hl7.org/fhir/R4/patient-operation-everything.html: "any resource
 * referenced from those, including binaries and attachments").
 */
export const EVERYTHING_REFERENCED_TYPES: readonly string[] = [
  'Practitioner', 'PractitionerRole', 'Organization', 'RelatedPerson', 'Location', 'HealthcareService', 'Endpoint',
  'Medication', 'Substance', 'Device', 'Binary',
];

/** Where a page of `$everything` ends: the section (0 the patients, 1 their compartments, 2 what those reference), type and id. */
export interface EverythingPosition {
  readonly section: number;
  readonly resourceType: string;
  readonly id: string;
}

export interface EverythingQuery {
  readonly patients: readonly string[];
  /** Types that may be returned (the caller's readable types, narrowed by `_type`). */
  readonly types: readonly string[];
  /** Only resources last updated after this instant (`_since`). */
  readonly since?: string;
  readonly after?: EverythingPosition;
  readonly limit: number;
}

export interface EverythingRow extends EverythingPosition {
  readonly content: string;
}

/**
 * One page of a patient's whole record, in one statement: the Patient resources, every resource in
 * their Patient compartments (by the compartment's search parameters, from the reference index), and
 * the directory resources those reference — each once, in a total order (section, type, id) so that
 * `next` links continue exactly after the last entry even when resources are written between pages.
 */
export async function everythingPage(conformance: Conformance, repo: Repository, query: EverythingQuery): Promise<EverythingRow[]> {
  const q = new SqlBuilder();
  const links: [string, string][] = [];
  for (const type of conformance.resourceTypes.list()) {
    for (const code of conformance.searchParameters.compartmentParams('Patient', type) ?? []) links.push([type, code]);
  }
  const patients = q.bind(query.patients);
  const types = q.bind(query.types);
  const conditions = ['NOT r.deleted', `r.resource_type = ANY(${types}::text[])`];
  if (query.since !== undefined) conditions.push(`r.last_updated > ${q.bind(query.since)}::timestamptz`);
  if (query.after) {
    const a = query.after;
    conditions.push(`(e.section, r.resource_type, r.id) > (${q.bind(a.section)}::int, ${q.bind(a.resourceType)}::text, ${q.bind(a.id)}::text)`);
  }
  const sql = `WITH links AS (SELECT * FROM unnest(${q.bind(links.map(([t]) => t))}::text[], ${q.bind(links.map(([, c]) => c))}::text[]) AS l(resource_type, code)),
    members AS (
      SELECT 0 AS section, 'Patient'::text AS resource_type, p AS id FROM unnest(${patients}::text[]) AS p
      UNION ALL
      SELECT 1, d.resource_type, d.resource_id FROM sp_reference d JOIN links l ON d.resource_type = l.resource_type AND d.code = l.code
      WHERE d.target_type = 'Patient' AND d.target_id = ANY(${patients}::text[]) AND d.contained_id IS NULL),
    referenced AS (
      SELECT 2 AS section, d.target_type AS resource_type, d.target_id AS id FROM sp_reference d
      JOIN members m ON d.resource_type = m.resource_type AND d.resource_id = m.id
      WHERE d.target_type = ANY(${q.bind(EVERYTHING_REFERENCED_TYPES)}::text[]) AND d.target_id IS NOT NULL AND d.contained_id IS NULL),
    entries AS (
      SELECT min(section) AS section, resource_type, id FROM (SELECT * FROM members UNION ALL SELECT * FROM referenced) a GROUP BY resource_type, id)
    SELECT e.section, r.resource_type, r.id, r.content FROM entries e JOIN resource r ON r.resource_type = e.resource_type AND r.id = e.id
    WHERE ${conditions.join(' AND ')}
    ORDER BY e.section, r.resource_type, r.id
    LIMIT ${q.bind(query.limit)}`;
  const rows = await repo.sql.query<{ section: number; resource_type: string; id: string; content: string }>(sql, q.params);
  return rows.map((row) => ({ section: Number(row.section), resourceType: row.resource_type, id: row.id, content: row.content }));
}
