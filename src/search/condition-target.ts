import type { Conformance } from '../conformance/conformance.ts';
import type { SearchParamDef } from '../conformance/search-parameter-definition.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { badRequest } from '../outcomes.ts';
import { containedCode } from './extract.ts';
import type { SearchAccess } from './search-request.ts';
import type { SqlBuilder } from './sql.ts';

/**
 * The resources a condition is about: their possible types (for parameter lookup), SQL
 * expressions for their type and id, and the alias of their `resource` row when one is joined.
 */
export interface SearchTarget {
  readonly resourceTypes: readonly string[];
  readonly typeExpr: string;
  readonly idExpr: string;
  readonly row?: string;
  /**
   * Set when the target is a resource contained in `typeExpr`/`idExpr` (its container): the
   * SQL expression of its contained id. Its rows are under the container's key, with this
   * contained_id and codes from `containedCode()` (https://hl7.org/fhir/R4/search.html#contained).
   */
  readonly containedIdExpr?: string;
  /**
   * Set when `idExpr` is one candidate of a search driven from a reference to a specific
   * resource (where-clause.ts): each parameter's EXISTS is then a probe of that candidate's own
   * rows and stays a correlated subquery (OFFSET 0), so the planner cannot turn it into a join
   * driven by the parameter's value instead.
   */
  readonly probe?: boolean;
}

/** The code and extra condition that select a target's own rows of parameter `code` in alias `a`. */
export function ownRows(target: SearchTarget, a: string, code: string): { code: string; contained: string } {
  if (target.containedIdExpr === undefined) {
    return { code, contained: '' };
  }
  return { code: containedCode(target.resourceTypes[0], code), contained: ` AND ${a}.contained_id = ${target.containedIdExpr}` };
}

/** What every condition is built with: the statement's parameters, the base URL, the conformance. */
export interface ConditionContext {
  readonly q: SqlBuilder;
  readonly baseUrl: string;
  /** The search parameters and resource types names are checked against. */
  readonly conformance: Conformance;
  /** The caller's access: chains, `_has` and includes reach only what it allows (access-conditions.ts). */
  readonly access?: SearchAccess;
}

/** The definition of `code` shared by every one of `resourceTypes`, or a 400 naming what is wrong. */
export function lookupParam(
  parameters: SearchParameterRegistry,
  resourceTypes: readonly string[],
  code: string,
  name: string,
  expression: string = name,
): SearchParamDef {
  let found: SearchParamDef | undefined;
  for (const type of resourceTypes) {
    const def = parameters.param(type, code);
    if (!def) {
      const known = [...parameters.paramsOf(type).keys()].filter((k) => !k.startsWith('_')).sort();
      throw badRequest(
        `Unknown search parameter '${name}' for ${type}. Known parameters: ${known.slice(0, 60).join(', ')}${known.length > 60 ? ', …' : ''}; plus _id, _lastUpdated, _tag, _profile, _security, _source, _has and the result parameters.`,
        expression,
      );
    }
    if (found && found.type !== def.type) {
      throw badRequest(`Search parameter '${name}' has different types on ${resourceTypes.join(', ')}; search one type at a time.`, expression);
    }
    found ??= def;
  }
  if (!found) {
    throw badRequest(`Search parameter '${name}' needs a resource type.`, name);
  }
  return found;
}

/** EXISTS over the target's own rows of `code` in `table` that satisfy `predicate` (on `$ALIAS`). */
export function indexExists(ctx: ConditionContext, target: SearchTarget, table: string, code: string, predicate?: string): string {
  const a = ctx.q.alias('i');
  const own = ownRows(target, a, code);
  // OFFSET 0 keeps PostgreSQL from pulling the EXISTS up into a semi-join (a sublink with an
  // OFFSET is never flattened): the probe then runs per candidate on the per-resource index. As
  // a join, the embedded database's generic plan, without statistics, scanned every row of a
  // common value (all laboratory Observations) once per candidate (issue 23, bench/RESULTS-search.md).
  const fence = target.probe ? ' OFFSET 0' : '';
  return `EXISTS (SELECT 1 FROM ${table} ${a} WHERE ${a}.resource_type = ${target.typeExpr} AND ${a}.resource_id = ${target.idExpr} AND ${a}.code = ${ctx.q.bind(own.code)}${own.contained}${predicate ? ` AND (${predicate.replaceAll('$ALIAS', a)})` : ''}${fence})`;
}

/** The value of `:missing` (https://hl7.org/fhir/R4/search.html#missing). */
export function parseMissing(name: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') {
    throw badRequest(`Search parameter '${name}' takes true or false, not '${value}'.`, name);
  }
  return value === 'true';
}

/** OR over comma-separated values, each a predicate on alias `$ALIAS`. */
export function anyOf(values: readonly string[], build: (value: string) => string): string {
  return values.map((v) => `(${build(v)})`).join(' OR ');
}


/** The target of a search's own condition: the `resource r` row of the statement. */
export function searchTarget(resourceTypes: readonly string[]): SearchTarget {
  return { resourceTypes, typeExpr: 'r.resource_type', idExpr: 'r.id', row: 'r' };
}
