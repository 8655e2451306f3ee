import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../outcomes.ts';
import type { SqlExecutor } from '../store/database.ts';
import type { Conformance } from '../conformance/conformance.ts';
import type { ConditionContext } from './condition-target.ts';
import { accessClause } from './conditions.ts';
import { SqlBuilder } from './sql.ts';

/** What an include is narrowed with: the conformance and the caller's access (no access: nothing is narrowed). */
export type IncludeAccess = Omit<ConditionContext, 'q'>;

/**
 * `_include` / `_revinclude` (https://hl7.org/fhir/R4/search.html#include): one SQL query per
 * directive and round over the reference index, never one query per resource; the first round
 * runs inside the page statement.
 */
export interface IncludeDirective {
  readonly reverse: boolean;
  readonly iterate: boolean;
  readonly sourceType: string;
  /** Reference parameter codes; several for `*`. */
  readonly codes: readonly string[];
  readonly targetType?: string;
  /** The parameter as written, for the self link. */
  readonly text: string;
}

/** Parses `Source:param[:Target]` or `*` / `Source:*` of `_include[:iterate]` / `_revinclude[:iterate]`. */
export function parseInclude(conformance: Conformance, name: string, value: string): IncludeDirective {
  const [base, modifier] = name.split(':');
  if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') {
    throw badRequest(`${name}: the only modifier of ${base} is :iterate.`, name);
  }
  const reverse = base === '_revinclude';
  const iterate = modifier !== undefined;
  if (value === '*') {
    return { reverse, iterate, sourceType: '*', codes: [], text: value };
  }
  const [sourceType, code, targetType] = value.split(':');
  if (!sourceType || !code || !conformance.resourceTypes.isKnown(sourceType)) {
    throw badRequest(`${name}=${value}: use ${base}=SourceType:reference-parameter[:TargetType], e.g. ${reverse ? 'Task:focus' : 'CarePlan:subject'}.`, name);
  }
  if (targetType !== undefined && !conformance.resourceTypes.isKnown(targetType)) {
    throw badRequest(`${name}=${value}: ${targetType} is not a resource type.`, name);
  }
  let codes: string[];
  if (code === '*') {
    codes = [...conformance.searchParameters.paramsOf(sourceType).values()].filter((d) => d.type === 'reference').map((d) => d.code);
  } else {
    const def = conformance.searchParameters.param(sourceType, code);
    if (!def || def.type !== 'reference') {
      throw badRequest(`${name}=${value}: ${code} is not a reference search parameter of ${sourceType}.`, name);
    }
    codes = [code];
  }
  return { reverse, iterate, sourceType, codes, targetType, text: value };
}

/** A row of an included resource. */
export interface IncludedRow {
  resource_type: string;
  id: string;
  content: string;
}

export interface IncludeResult {
  readonly resources: Resource[];
  /** True when the cap stopped the inclusion (reported as an outcome entry). */
  readonly truncated: boolean;
}

/**
 * Resolves the directives for the matched resources: non-iterate directives on the matches,
 * iterate directives repeatedly on everything included so far (at most `maxRounds` rounds).
 * `firstRound`, when given, holds each directive's rows for the matches already (selected by the
 * page statement itself, see `withFirstIncludeRound` in page-query.ts), so the first round costs no statement.
 */
export async function resolveIncludes(
  sql: SqlExecutor,
  matches: readonly { resourceType: string; id: string }[],
  directives: readonly IncludeDirective[],
  cap: number,
  firstRound?: readonly (readonly IncludedRow[])[],
  access?: IncludeAccess,
  maxRounds = 4,
): Promise<IncludeResult> {
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const included: Resource[] = [];
  let truncated = false;
  let sources: { resourceType: string; id: string }[] = [...matches];
  for (let round = 0; round < maxRounds && sources.length; round++) {
    const next: { resourceType: string; id: string }[] = [];
    for (const [index, directive] of directives.entries()) {
      if (round > 0 && !directive.iterate) {
        continue;
      }
      const limit = cap - included.length + 1;
      if (limit <= 1) {
        truncated = true;
        break;
      }
      const rows = round === 0 && firstRound ? firstRound[index] : await runDirective(sql, sources, directive, limit, access);
      for (const row of rows) {
        const key = `${row.resource_type}/${row.id}`;
        if (seen.has(key)) {
          continue;
        }
        if (included.length >= cap) {
          truncated = true;
          break;
        }
        seen.add(key);
        included.push(JSON.parse(row.content) as Resource);
        next.push({ resourceType: row.resource_type, id: row.id });
      }
    }
    sources = next;
  }
  return { resources: included, truncated };
}

/**
 * SELECT of the resources one directive includes for the sources in `sources`, a FROM item with
 * columns (resource_type, id) aliased `src`: distinct (resource_type, id, content), at most
 * `limit` rows.
 */
export function directiveSql(q: SqlBuilder, sources: string, d: IncludeDirective, limit: number, access?: IncludeAccess): string {
  const filters: string[] = [];
  if (d.sourceType !== '*') {
    filters.push(`a.resource_type = ${q.bind(d.sourceType)}`, `a.code = ANY(${q.bind(d.codes)}::text[])`);
  } else {
    // Not the rows of contained resources, which are under their container's key (codes with '#').
    filters.push(`strpos(a.code, '#') = 0`);
  }
  if (d.targetType) {
    filters.push(`a.target_type = ${q.bind(d.targetType)}`);
  }
  if (access?.access) {
    // Included resources are returned, so they need read access: another patient's resource a
    // reference reaches is left out (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html).
    const reachable = accessClause({ ...access, q }, { resourceTypes: includedTypes(access.conformance, d), typeExpr: 't.resource_type', idExpr: 't.id', row: 't' }, 'r');
    if (reachable !== undefined) filters.push(reachable);
  }
  const where = filters.length ? `WHERE ${filters.join(' AND ')}` : '';
  // Forward: targets of the sources' reference rows. Reverse: resources of sourceType whose
  // reference rows point at the sources.
  const joins = d.reverse
    ? `JOIN sp_reference a ON a.target_id = src.id AND a.target_type = src.resource_type
       JOIN resource t ON t.resource_type = a.resource_type AND t.id = a.resource_id AND NOT t.deleted`
    : `JOIN sp_reference a ON a.resource_type = src.resource_type AND a.resource_id = src.id
       JOIN resource t ON t.resource_type = a.target_type AND t.id = a.target_id AND NOT t.deleted`;
  return `SELECT DISTINCT t.resource_type, t.id, t.content
     FROM ${sources}
     ${joins}
     ${where}
     LIMIT ${q.bind(limit)}`;
}

async function runDirective(
  sql: SqlExecutor,
  sources: readonly { resourceType: string; id: string }[],
  d: IncludeDirective,
  limit: number,
  access?: IncludeAccess,
): Promise<IncludedRow[]> {
  const q = new SqlBuilder();
  const from = `unnest(${q.bind(sources.map((s) => s.resourceType))}::text[], ${q.bind(sources.map((s) => s.id))}::text[]) AS src(resource_type, id)`;
  return sql.query<IncludedRow>(directiveSql(q, from, d, limit, access), q.params);
}

/** The types a directive can include: its source type (reverse), its target type, or its parameters' targets. */
function includedTypes(conformance: Conformance, d: IncludeDirective): readonly string[] {
  if (d.reverse) {
    return d.sourceType === '*' ? conformance.resourceTypes.list() : [d.sourceType];
  }
  if (d.targetType) {
    return [d.targetType];
  }
  if (d.sourceType === '*') {
    return conformance.resourceTypes.list();
  }
  const targets = d.codes.flatMap((code) => conformance.searchParameters.param(d.sourceType, code)?.targets ?? []);
  return targets.length ? [...new Set(targets)] : conformance.resourceTypes.list();
}
