import { badRequest, notSupported } from '../outcomes.ts';
import { isKnownResourceType } from '../conformance/base-definitions.ts';
import { COMPOSITE_KEY_TYPES, containedCode, parseReference } from './extract.ts';
import { searchParam, searchParamByUrl, searchParamsOf, type SearchParamDef } from './parameters.ts';
import { SqlBuilder, splitUnescaped, unescapeValue } from './sql.ts';
import { normalizeString } from './values.ts';
import {
  datePredicate,
  numberPredicate,
  ofTypePredicate,
  quantityPredicate,
  stringPredicate,
  tokenPredicate,
  tokenTextPredicate,
  uriPredicate,
  type DateColumns,
} from './value-conditions.ts';

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
}

/** The code and extra condition that select a target's own rows of parameter `code` in alias `a`. */
function ownRows(target: SearchTarget, a: string, code: string): { code: string; contained: string } {
  if (target.containedIdExpr === undefined) {
    return { code, contained: '' };
  }
  return { code: containedCode(target.resourceTypes[0], code), contained: ` AND ${a}.contained_id = ${target.containedIdExpr}` };
}

export interface ConditionContext {
  readonly q: SqlBuilder;
  readonly baseUrl: string;
}

/** Index table per parameter type (whitelist of names that go into SQL text). */
const TABLE_OF: Readonly<Record<string, string>> = {
  token: 'sp_token',
  string: 'sp_string',
  reference: 'sp_reference',
  date: 'sp_date',
  number: 'sp_number',
  quantity: 'sp_quantity',
  uri: 'sp_uri',
  composite: 'sp_composite',
};

/** Modifiers each parameter type accepts (https://hl7.org/fhir/R4/search.html#modifiers). */
const MODIFIERS: Readonly<Record<string, readonly string[]>> = {
  token: ['missing', 'not', 'text', 'of-type'],
  string: ['missing', 'exact', 'contains'],
  reference: ['missing', 'identifier'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  uri: ['missing', 'above', 'below'],
  composite: ['missing'],
};

/** The definition of `code` shared by every one of `resourceTypes`, or a 400 naming what is wrong. */
export function lookupParam(resourceTypes: readonly string[], code: string, name: string, expression: string = name): SearchParamDef {
  let found: SearchParamDef | undefined;
  for (const type of resourceTypes) {
    const def = searchParam(type, code);
    if (!def) {
      const known = [...searchParamsOf(type).keys()].filter((k) => !k.startsWith('_')).sort();
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

function indexExists(ctx: ConditionContext, target: SearchTarget, table: string, code: string, predicate?: string): string {
  const a = ctx.q.alias('i');
  const own = ownRows(target, a, code);
  return `EXISTS (SELECT 1 FROM ${table} ${a} WHERE ${a}.resource_type = ${target.typeExpr} AND ${a}.resource_id = ${target.idExpr} AND ${a}.code = ${ctx.q.bind(own.code)}${own.contained}${predicate ? ` AND (${predicate.replaceAll('$ALIAS', a)})` : ''})`;
}

function parseMissing(name: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') {
    throw badRequest(`Search parameter '${name}' takes true or false, not '${value}'.`, name);
  }
  return value === 'true';
}

/** OR over comma-separated values, each a predicate on alias `$ALIAS`. */
function anyOf(values: readonly string[], build: (value: string) => string): string {
  return values.map((v) => `(${build(v)})`).join(' OR ');
}

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
  const def = lookupParam(target.resourceTypes, code, name);
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

/** A parameter answered by one index table: rows of `code` matching `predicate` (on `$ALIAS`). */
export interface IndexedCondition {
  readonly table: string;
  readonly code: string;
  readonly predicate?: string;
  /** True for :not and :missing=true (the resource has no such row). */
  readonly negate: boolean;
}

/**
 * The index form of a plain parameter of this type (no chain, not _has/_id/_lastUpdated),
 * or undefined if `name` is not one. Used to drive a query from the index
 * (search.ts whereClause); values are bound only when the parameter qualifies.
 */
export function drivingCondition(ctx: ConditionContext, target: SearchTarget, name: string, rawValue: string): IndexedCondition | undefined {
  if (name.startsWith('_has:') || name.includes('.')) {
    return undefined;
  }
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (code === '_id' || code === '_lastUpdated' || modifier === 'missing' || modifier === 'not') {
    return undefined;
  }
  const defs = target.resourceTypes.map((type) => searchParam(type, code));
  if (defs.some((d) => d === undefined || !TABLE_OF[d.type])) {
    return undefined;
  }
  return indexedCondition(ctx, target, defs[0] as SearchParamDef, name, code, modifier, rawValue);
}

function indexedCondition(
  ctx: ConditionContext,
  target: SearchTarget,
  def: SearchParamDef,
  name: string,
  code: string,
  modifier: string | undefined,
  rawValue: string,
): IndexedCondition {
  if (rawValue === '') {
    throw badRequest(`Search parameter '${name}' has an empty value; give a value or leave the parameter out.`, name);
  }
  const table = TABLE_OF[def.type];
  if (!table) {
    throw notSupported(`Search parameter '${name}' is of type ${def.type}, which this server does not search.`, name);
  }
  const isTypeModifier = def.type === 'reference' && modifier !== undefined && /^[A-Z]/.test(modifier);
  if (modifier !== undefined && !isTypeModifier && !MODIFIERS[def.type].includes(modifier)) {
    throw badRequest(
      `Search parameter '${name}': modifier ':${modifier}' does not apply to ${def.type} parameters; use one of ${MODIFIERS[def.type].map((m) => `:${m}`).join(', ')}.`,
      name,
    );
  }
  if (modifier === 'missing') {
    return { table, code, negate: parseMissing(name, rawValue) };
  }
  const values = splitUnescaped(rawValue, ',');
  if (values.some((v) => v === '')) {
    throw badRequest(`Search parameter '${name}' has an empty value between commas: '${rawValue}'.`, name);
  }
  const q = ctx.q;
  switch (def.type) {
    case 'token': {
      if (modifier === 'of-type') {
        return { table, code: `${code}:of-type`, predicate: anyOf(values, (v) => ofTypePredicate(q, '$ALIAS', name, v)), negate: false };
      }
      if (modifier === 'text') {
        return { table, code, predicate: anyOf(values, (v) => tokenTextPredicate(q, '$ALIAS', v)), negate: false };
      }
      // :not — resources that do not have the value, including those without any (search.html#modifiers).
      return { table, code, predicate: anyOf(values, (v) => tokenPredicate(q, '$ALIAS', name, v)), negate: modifier === 'not' };
    }
    case 'string':
      return { table, code, predicate: anyOf(values, (v) => stringPredicate(q, '$ALIAS', modifier, v)), negate: false };
    case 'uri':
      return { table, code, predicate: anyOf(values, (v) => uriPredicate(q, '$ALIAS', modifier, v)), negate: false };
    case 'date':
      return { table, code, predicate: anyOf(values, (v) => datePredicate(q, { low: '$ALIAS.low', high: '$ALIAS.high', instant: false }, name, v)), negate: false };
    case 'number':
      return { table, code, predicate: anyOf(values, (v) => numberPredicate(q, '$ALIAS.value', name, v)), negate: false };
    case 'quantity':
      return { table, code, predicate: anyOf(values, (v) => quantityPredicate(q, '$ALIAS', name, v)), negate: false };
    case 'reference': {
      if (modifier === 'identifier') {
        return { table: 'sp_token', code: `${code}:identifier`, predicate: anyOf(values, (v) => tokenPredicate(q, '$ALIAS', name, v)), negate: false };
      }
      const typeModifier = isTypeModifier ? checkTargetType(def, name, modifier as string) : undefined;
      return { table, code, predicate: anyOf(values, (v) => referencePredicate(ctx, def, name, typeModifier, v)), negate: false };
    }
    case 'composite':
      return { table, code, predicate: anyOf(values, (v) => compositePredicate(ctx, target, def, name, v)), negate: false };
    default:
      throw notSupported(`Search parameter '${name}' is of type ${def.type}, which this server does not search.`, name);
  }
}

function checkTargetType(def: SearchParamDef, name: string, type: string): string {
  if (!isKnownResourceType(type) || (def.targets.length && !def.targets.includes(type))) {
    throw badRequest(
      `Search parameter '${name}': ${type} is not a target of ${def.code}; use one of ${def.targets.join(', ')}.`,
      name,
    );
  }
  return type;
}

/** reference values: Type/id, id, absolute URL, canonical (https://hl7.org/fhir/R4/search.html#reference). */
function referencePredicate(ctx: ConditionContext, def: SearchParamDef, name: string, typeModifier: string | undefined, raw: string): string {
  const q = ctx.q;
  let value = unescapeValue(raw);
  const base = ctx.baseUrl.replace(/\/+$/, '');
  if (base && value.startsWith(`${base}/`)) {
    value = value.slice(base.length + 1);
  }
  if (!value.includes('/') && !value.includes(':')) {
    // A bare id: any allowed target type, or the one the :Type modifier names.
    const types = typeModifier ? [typeModifier] : def.targets;
    return types.length
      ? `($ALIAS.target_id = ${q.bind(value)} AND $ALIAS.target_type = ANY(${q.bind(types)}::text[]))`
      : `$ALIAS.target_id = ${q.bind(value)}`;
  }
  const parsed = parseReference(value);
  if (parsed.targetType) {
    if (typeModifier && parsed.targetType !== typeModifier) {
      throw badRequest(`Search parameter '${name}': value ${value} is not a ${typeModifier}.`, name);
    }
    return `($ALIAS.target_type = ${q.bind(parsed.targetType)} AND $ALIAS.target_id = ${q.bind(parsed.targetId)})`;
  }
  return `$ALIAS.url = ${q.bind(parsed.url)}`;
}

/**
 * composite (https://hl7.org/fhir/R4/search.html#composite): component values joined by '$';
 * token/string/reference/uri components form the row key, a final quantity/number/date
 * component is compared with its own prefixes on the row's range columns.
 */
function compositePredicate(ctx: ConditionContext, target: SearchTarget, def: SearchParamDef, name: string, raw: string): string {
  const parts = splitUnescaped(raw, '$');
  if (parts.length !== def.components.length) {
    throw badRequest(`Search parameter '${name}' takes ${def.components.length} values joined by '$', not '${raw}'.`, name);
  }
  const keys: string[] = [];
  let range: string | undefined;
  parts.forEach((part, i) => {
    const componentDef = searchParamByUrl(target.resourceTypes[0], def.components[i].definition);
    const type = componentDef?.type ?? 'unknown';
    const last = i === parts.length - 1;
    if (COMPOSITE_KEY_TYPES.has(type)) {
      const value = unescapeValue(part);
      keys.push(type === 'string' ? normalizeString(value) : value);
    } else if (last && type === 'quantity') {
      range = quantityPredicate(ctx.q, '$ALIAS', name, part, '$ALIAS.num');
    } else if (last && type === 'number') {
      range = numberPredicate(ctx.q, '$ALIAS.num', name, unescapeValue(part));
    } else if (last && type === 'date') {
      range = datePredicate(ctx.q, { low: '$ALIAS.low', high: '$ALIAS.high', instant: false }, name, unescapeValue(part));
    } else {
      throw notSupported(
        `Search parameter '${name}': composite component ${componentDef?.code ?? i + 1} (${type}) is not searchable here; composites of token, string, reference and uri components with at most a final quantity, number or date are.`,
        name,
      );
    }
  });
  const key = `$ALIAS.value = ${ctx.q.bind(keys.join('$'))}`;
  return range ? `${key} AND ${range}` : key;
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
    types = [checkTargetType(def, name, modifier)];
  } else {
    types = def.targets.filter((t) => nextCode.startsWith('_') || searchParam(t, nextCode) !== undefined);
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
      const kinds = new Set(types.map((t) => searchParam(t, nextCode)?.type ?? 'special'));
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
  const inner = buildCondition(ctx, { resourceTypes: types, typeExpr, idExpr: `${a}.target_id` }, chain, rawValue);
  return `EXISTS (SELECT 1 FROM sp_reference ${a} WHERE ${a}.resource_type = ${target.typeExpr} AND ${a}.resource_id = ${target.idExpr} AND ${a}.code = ${ctx.q.bind(own.code)}${own.contained} AND ${a}.target_type = ANY(${ctx.q.bind(types)}::text[]) AND ${inner})`;
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
  if (!isKnownResourceType(type)) {
    throw badRequest(`Search parameter '${name}': ${type} is not a resource type.`, name);
  }
  const refDef = searchParam(type, refCode);
  if (!refDef || refDef.type !== 'reference') {
    throw badRequest(`Search parameter '${name}': ${refCode} is not a reference parameter of ${type}.`, name);
  }
  const h = ctx.q.alias('h');
  const inner = buildCondition(ctx, { resourceTypes: [type], typeExpr: `${ctx.q.bind(type)}::text`, idExpr: `${h}.resource_id` }, rest, rawValue);
  return `EXISTS (SELECT 1 FROM sp_reference ${h} WHERE ${h}.target_id = ${target.idExpr} AND ${h}.target_type = ${target.typeExpr} AND ${h}.code = ${ctx.q.bind(refCode)} AND ${h}.resource_type = ${ctx.q.bind(type)} AND ${inner})`;
}

/** Membership in a compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). */
export function compartmentCondition(
  ctx: ConditionContext,
  target: SearchTarget,
  resourceType: string,
  params: readonly string[],
  compartment: { resourceType: string; id: string },
): string {
  const conditions: string[] = [];
  if (params.length) {
    const a = ctx.q.alias('m');
    conditions.push(
      `EXISTS (SELECT 1 FROM sp_reference ${a} WHERE ${a}.resource_type = ${target.typeExpr} AND ${a}.resource_id = ${target.idExpr} AND ${a}.code = ANY(${ctx.q.bind(params)}::text[]) AND ${a}.target_type = ${ctx.q.bind(compartment.resourceType)} AND ${a}.target_id = ${ctx.q.bind(compartment.id)})`,
    );
  }
  if (resourceType === compartment.resourceType) {
    conditions.push(`${target.idExpr} = ${ctx.q.bind(compartment.id)}`);
  }
  return conditions.length ? `(${conditions.join(' OR ')})` : 'false';
}
