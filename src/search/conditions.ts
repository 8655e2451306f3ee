import type { SearchParamDef } from '../conformance/search-parameter-definition.ts';
import { badRequest, notSupported } from '../outcomes.ts';
import { anyOf, indexExists, lookupParam, ownRows, parseMissing, type ConditionContext, type SearchTarget } from './condition-target.ts';
import { patientCompartmentCondition } from './compartments.ts';
import { checkTargetType, indexedCondition } from './indexed-conditions.ts';
import type { AccessPermission, GrantReach } from './search-request.ts';
import { SqlBuilder, splitUnescaped, unescapeValue } from './sql.ts';
import { datePredicate, type DateColumns } from './value-conditions.ts';

/**
 * The condition of one search parameter, by its name: `_id` and `_lastUpdated` on the resource
 * row, chains and `_has` as joins over sp_reference whose inner condition is again built here, and
 * every other parameter on its own index table (indexed-conditions.ts).
 */

/**
 * SQL predicate for one `name=value` pair (repetition = AND is the caller's; comma = OR here).
 * https://hl7.org/fhir/R4/search.html
 */
export function buildCondition(ctx: ConditionContext, target: SearchTarget, name: string, rawValue: string): string {
  if (name.startsWith('_has:')) {
    return buildHas(ctx, target, name, rawValue);
  }
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const chain = dot < 0 ? undefined : name.slice(dot + 1);
  const colon = head.indexOf(':');
  const code = colon < 0 ? head : head.slice(0, colon);
  const modifier = colon < 0 ? undefined : head.slice(colon + 1);
  if (['_text', '_content', '_list', '_query', '_filter'].includes(code)) {
    throw notSupported(`Search parameter '${code}' is not supported by this server.`, name);
  }
  if (code === '_id') {
    return buildId(ctx, target, name, modifier, rawValue);
  }
  if (code === '_lastUpdated') {
    return buildLastUpdated(ctx, target, name, modifier, rawValue);
  }
  const def = lookupParam(ctx.conformance.searchParameters, target.resourceTypes, code, name);
  if (chain !== undefined) {
    return buildChain(ctx, target, def, name, modifier, chain, rawValue);
  }
  const c = indexedCondition(ctx, target, def, name, code, modifier, rawValue);
  let exists = indexExists(ctx, target, c.table, c.code, c.predicate);
  if (def.type === 'reference' && modifier === 'missing') {
    // A logical reference (identifier only) is a value too (https://hl7.org/fhir/R4/search.html#missing);
    // it has token rows under `code:identifier` and no sp_reference row.
    exists = `(${exists} OR ${indexExists(ctx, target, 'sp_token', `${code}:identifier`)})`;
  }
  return c.negate ? `NOT ${exists}` : exists;
}


function buildId(ctx: ConditionContext, target: SearchTarget, name: string, modifier: string | undefined, rawValue: string): string {
  if (modifier === 'missing') {
    return parseMissing(name, rawValue) ? 'false' : 'true';
  }
  const values = splitUnescaped(rawValue, ',').map(unescapeValue);
  if (modifier !== undefined && modifier !== 'not') {
    throw badRequest(`Search parameter '${name}': _id takes no modifier but :not and :missing.`, name);
  }
  if (values.some((v) => v === '')) {
    throw badRequest(`Search parameter '${name}' needs one or more ids separated by commas.`, name);
  }
  // A contained resource's _id is its id inside the container (https://hl7.org/fhir/R4/references.html#contained).
  const condition = `${target.containedIdExpr ?? target.idExpr} = ANY(${ctx.q.bind(values)}::text[])`;
  return modifier === 'not' ? `NOT (${condition})` : condition;
}

function buildLastUpdated(ctx: ConditionContext, target: SearchTarget, name: string, modifier: string | undefined, rawValue: string): string {
  if (modifier === 'missing') {
    return parseMissing(name, rawValue) ? 'false' : 'true';
  }
  if (modifier !== undefined) {
    throw badRequest(`Search parameter '${name}': _lastUpdated takes no modifier but :missing.`, name);
  }
  if (target.containedIdExpr !== undefined) {
    // A contained resource has no meta.lastUpdated of its own (https://hl7.org/fhir/R4/resource.html#Meta).
    throw notSupported(`Search parameter '${name}' does not apply to contained resources; leave it out with _contained=true or both.`, name);
  }
  const onRow = (row: string): string =>
    anyOf(splitUnescaped(rawValue, ','), (v) =>
      datePredicate(ctx.q, { low: `${row}.last_updated`, high: `${row}.last_updated`, instant: true } satisfies DateColumns, name, v),
    );
  if (target.row) {
    return onRow(target.row);
  }
  const x = ctx.q.alias('lu');
  return `EXISTS (SELECT 1 FROM resource ${x} WHERE ${x}.resource_type = ${target.typeExpr} AND ${x}.id = ${target.idExpr} AND NOT ${x}.deleted AND (${onRow(x)}))`;
}

/**
 * Chained parameters `subject:Patient.name=x`, several levels deep (search.html#chaining): the
 * reference rows of this resource whose targets satisfy the rest of the chain.
 */
function buildChain(
  ctx: ConditionContext,
  target: SearchTarget,
  def: SearchParamDef,
  name: string,
  modifier: string | undefined,
  chain: string,
  rawValue: string,
): string {
  if (def.type !== 'reference') {
    throw badRequest(`Search parameter '${name}': only reference parameters can be chained, and ${def.code} is a ${def.type}.`, name);
  }
  const nextCode = chain.split(/[.:]/)[0];
  let types: string[];
  if (modifier !== undefined) {
    types = [checkTargetType(ctx, def, name, modifier)];
  } else {
    types = def.targets.filter((t) => nextCode.startsWith('_') || ctx.conformance.searchParameters.param(t, nextCode) !== undefined);
    if (nextCode === '_has') {
      types = [...def.targets];
    }
    if (!types.length) {
      throw badRequest(
        `Chained search parameter '${name}': no target type of ${def.code} (${def.targets.join(', ')}) has a parameter '${nextCode}'.`,
        name,
      );
    }
    if (types.length > 1) {
      const kinds = new Set(types.map((t) => ctx.conformance.searchParameters.param(t, nextCode)?.type ?? 'special'));
      if (kinds.size > 1) {
        throw badRequest(
          `Chained search parameter '${name}' is ambiguous: ${nextCode} differs between ${types.join(', ')}; name the type, e.g. ${def.code}:${types[0]}.${chain}.`,
          name,
        );
      }
    }
  }
  const a = ctx.q.alias('c');
  const own = ownRows(target, a, def.code);
  // A single target type is bound as a constant so the inner index lookups lead with resource_type.
  const typeExpr = types.length === 1 ? `${ctx.q.bind(types[0])}::text` : `${a}.target_type`;
  const hop: SearchTarget = { resourceTypes: types, typeExpr, idExpr: `${a}.target_id` };
  const inner = buildCondition(ctx, hop, chain, rawValue);
  // A chain looks into the resources it reaches: only those the caller may search (another
  // patient's data must not answer the question).
  const reachable = accessClause(ctx, hop, 's');
  return `EXISTS (SELECT 1 FROM sp_reference ${a} WHERE ${a}.resource_type = ${target.typeExpr} AND ${a}.resource_id = ${target.idExpr} AND ${a}.code = ${ctx.q.bind(own.code)}${own.contained} AND ${a}.target_type = ANY(${ctx.q.bind(types)}::text[]) AND ${inner}${reachable ? ` AND ${reachable}` : ''})`;
}

/**
 * Reverse chaining `_has:Observation:patient:code=x`, nestable (search.html#has): resources
 * referenced through `patient` by an Observation that matches the rest.
 */
function buildHas(ctx: ConditionContext, target: SearchTarget, name: string, rawValue: string): string {
  const parts = name.split(':');
  if (parts.length < 4 || !parts[1] || !parts[2] || !parts[3]) {
    throw badRequest(`Search parameter '${name}': _has takes _has:Type:reference-parameter:parameter=value, e.g. _has:Task:focus:status=requested.`, name);
  }
  const [, type, refCode] = parts;
  const rest = parts.slice(3).join(':');
  if (target.containedIdExpr !== undefined) {
    // References to contained resources ('#id') are local to their container and not indexed.
    throw notSupported(`Search parameter '${name}': _has does not apply to contained resources.`, name);
  }
  if (!ctx.conformance.resourceTypes.isKnown(type)) {
    throw badRequest(`Search parameter '${name}': ${type} is not a resource type.`, name);
  }
  const refDef = ctx.conformance.searchParameters.param(type, refCode);
  if (!refDef || refDef.type !== 'reference') {
    throw badRequest(`Search parameter '${name}': ${refCode} is not a reference parameter of ${type}.`, name);
  }
  const h = ctx.q.alias('h');
  const source: SearchTarget = { resourceTypes: [type], typeExpr: `${ctx.q.bind(type)}::text`, idExpr: `${h}.resource_id` };
  const inner = buildCondition(ctx, source, rest, rawValue);
  // Only referring resources the caller may search count (_has must not reveal other patients' data).
  const reachable = accessClause(ctx, source, 's');
  return `EXISTS (SELECT 1 FROM sp_reference ${h} WHERE ${h}.target_id = ${target.idExpr} AND ${h}.target_type = ${target.typeExpr} AND ${h}.code = ${ctx.q.bind(refCode)} AND ${h}.resource_type = ${ctx.q.bind(type)} AND ${inner}${reachable ? ` AND ${reachable}` : ''})`;
}

/**
 * SMART access in SQL (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html):
 * the condition that a target resource is one the caller's grants reach, so that a search is
 * narrowed in the statement itself (paging and totals stay right) and chains, `_has` and includes
 * never reach past it. Undefined when nothing is confined: the statement is unchanged.
 */
export function accessClause(ctx: ConditionContext, target: SearchTarget, permission: AccessPermission): string | undefined {
  const access = ctx.access;
  if (!access) {
    return undefined;
  }
  const perType = target.resourceTypes.map((type) => [type, access.forType(type, permission)] as const);
  if (perType.every(([, reach]) => reach === 'all')) {
    return undefined;
  }
  if (perType.length === 1) {
    const [type, reach] = perType[0];
    return reach === 'none' ? 'false' : reachCondition(ctx, target, type, reach as readonly GrantReach[]);
  }
  const parts: string[] = [];
  const open = perType.filter(([, reach]) => reach === 'all').map(([type]) => type);
  if (open.length) {
    parts.push(`${target.typeExpr} = ANY(${ctx.q.bind(open)}::text[])`);
  }
  for (const [type, reach] of perType) {
    if (reach !== 'all' && reach !== 'none') {
      parts.push(`(${target.typeExpr} = ${ctx.q.bind(type)} AND ${reachCondition(ctx, { ...target, resourceTypes: [type] }, type, reach)})`);
    }
  }
  return parts.length ? `(${parts.join(' OR ')})` : 'false';
}

/** Any of the grants (OR); each grant both in the compartment and matching its criteria (AND). */
function reachCondition(ctx: ConditionContext, target: SearchTarget, type: string, reach: readonly GrantReach[]): string {
  const alternatives = reach.map((grant) => {
    const conditions: string[] = [];
    if (grant.patients !== undefined) {
      conditions.push(patientCompartmentCondition(ctx, target, type, grant.patients));
    }
    if (grant.criteria !== undefined) {
      conditions.push(criteriaCondition(ctx, target, grant.criteria));
    }
    return conditions.length ? conditions.join(' AND ') : 'true';
  });
  return alternatives.length === 1 ? `(${alternatives[0]})` : `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

/**
 * A v2 scope's criteria as search conditions on the target, every parameter ANDed. They are
 * checked on a throwaway builder first: criteria the type's search parameters cannot answer
 * (unknown parameter, bad value, a result parameter) make the grant reach nothing, never everything.
 * Chains inside criteria are not narrowed again: the criteria define the grant.
 */
function criteriaCondition(ctx: ConditionContext, target: SearchTarget, criteria: string): string {
  const pairs = [...new URLSearchParams(criteria)];
  const plain: ConditionContext = { q: ctx.q, baseUrl: ctx.baseUrl, conformance: ctx.conformance };
  try {
    const probe: ConditionContext = { ...plain, q: new SqlBuilder() };
    if (!pairs.length) return 'false';
    for (const [name, value] of pairs) buildCondition(probe, target, name, value);
  } catch {
    return 'false';
  }
  return pairs.map(([name, value]) => buildCondition(plain, target, name, value)).join(' AND ');
}
