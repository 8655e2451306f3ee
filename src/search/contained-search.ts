import type { Resource } from '@medplum/fhirtypes';
import type { Conformance } from '../conformance/conformance.ts';
import { forbidden, notSupported } from '../outcomes.ts';
import type { ConditionContext, SearchTarget } from './condition-target.ts';
import { accessClause, buildCondition } from './conditions.ts';
import { containedCode } from './extract.ts';
import type { IncludeDirective } from './include.ts';
import type { ContainedSearch, ParsedSearch, SearchInput } from './search-request.ts';
import type { SortKey } from './sort.ts';
import { SqlBuilder } from './sql.ts';
import { whereClause } from './where-clause.ts';

/** What a search of contained resources cannot be combined with here (400, also when lenient). */
export function checkContainedSearch(
  input: SearchInput,
  target: SearchTarget,
  sortText: string | undefined,
  includes: readonly IncludeDirective[],
  contained: ContainedSearch,
): void {
  if (target.resourceTypes.length !== 1 || input.compartment) {
    throw notSupported(`_contained=${contained.match} works on a search of one resource type (GET [base]/[type]?...), not on system or compartment search.`, '_contained');
  }
  if (sortText !== undefined) {
    // The sort keys of a contained match would be its container's; the spec leaves this open.
    throw notSupported(`_sort cannot be combined with _contained=${contained.match}; leave one of them out.`, '_sort');
  }
  if (includes.length && contained.returns === 'contained') {
    throw notSupported('_include and _revinclude cannot be combined with _containedType=contained; use _containedType=container.', '_containedType');
  }
}

/** Sort key of a page of contained resources: their id in the container ('' for top-level rows). */
const CONTAINED_ID_KEY: SortKey = { name: '_contained', expr: 'contained_id', sqlType: 'text', descending: false };

/**
 * The keys (container type, container id, contained id) of the contained resources of the
 * searched type that match every filter: the membership rows '<Type>#_id' of their containers,
 * each filter correlated to the same contained resource (https://hl7.org/fhir/R4/search.html#contained).
 */
function containedMatches(conformance: Conformance, q: SqlBuilder, input: SearchInput, type: string, filters: ParsedSearch['filters']): string {
  const m = q.alias('m');
  const target: SearchTarget = { resourceTypes: [type], typeExpr: `${m}.resource_type`, idExpr: `${m}.resource_id`, containedIdExpr: `${m}.contained_id` };
  const ctx: ConditionContext = { q, baseUrl: input.baseUrl, conformance };
  const conditions = [
    // Any type can be the container; listing them lets the (resource_type, code, value) index lead.
    `${m}.resource_type = ANY(${q.bind(conformance.resourceTypes.list())}::text[])`,
    `${m}.code = ${q.bind(containedCode(type, '_id'))}`,
    ...filters.map(([name, value]) => buildCondition(ctx, target, name, value)),
  ];
  return `SELECT ${m}.resource_type, ${m}.resource_id, ${m}.contained_id FROM sp_token ${m} WHERE ${conditions.join(' AND ')}`;
}

/**
 * The rows a search with _contained=true|both pages over (columns resource_type, id, content
 * and, for _containedType=contained, k0 = the contained id): containers of contained matches,
 * or the matches themselves, with the top-level matches too for `both`.
 */
export function containedSource(
  conformance: Conformance,
  q: SqlBuilder,
  input: SearchInput,
  target: SearchTarget,
  parsed: ParsedSearch,
): { sql: string; keys: SortKey[] } {
  const type = target.resourceTypes[0];
  if (accessClause({ q: new SqlBuilder(), baseUrl: input.baseUrl, conformance, access: input.access }, target, 's') !== undefined) {
    // A contained resource is in its container's compartment, whatever its own references say;
    // rather than judge it by the wrong resource, confined tokens do not search contained resources.
    throw forbidden(`_contained=${parsed.contained.match} is not available to an access token confined to patient compartments or v2 criteria; search without _contained.`, '_contained');
  }
  const matches = containedMatches(conformance, q, input, type, parsed.filters);
  const topLevel = parsed.contained.match === 'both' ? whereClause(conformance, q, input, target, parsed.filters, parsed.useCombinations) : undefined;
  if (parsed.contained.returns === 'container') {
    const inContainer = `(r.resource_type, r.id) IN (SELECT x.resource_type, x.resource_id FROM (${matches}) x)`;
    const where = topLevel ? `NOT r.deleted AND ((${topLevel}) OR ${inContainer})` : `NOT r.deleted AND ${inContainer}`;
    return { sql: `SELECT r.resource_type, r.id, r.content FROM resource r WHERE ${where}`, keys: [] };
  }
  const containedRows = `SELECT r.resource_type, r.id, r.content, x.contained_id AS k0
     FROM resource r JOIN (${matches}) x ON r.resource_type = x.resource_type AND r.id = x.resource_id
     WHERE NOT r.deleted`;
  const sql = topLevel ? `${containedRows} UNION ALL SELECT r.resource_type, r.id, r.content, ''::text AS k0 FROM resource r WHERE ${topLevel}` : containedRows;
  return { sql, keys: [CONTAINED_ID_KEY] };
}

/** The contained resource `containedId` of a stored container, if it is there. */
export function containedResource(content: string, containedId: string): Resource | undefined {
  const container = JSON.parse(content) as { contained?: Resource[] };
  return container.contained?.find((r) => r.id === containedId);
}
