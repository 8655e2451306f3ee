import { COMPOSITE_KEY_TYPES, type SearchParamDef } from '../conformance/search-parameter-definition.ts';
import { badRequest, notSupported } from '../outcomes.ts';
import { anyOf, parseMissing, type ConditionContext, type SearchTarget } from './condition-target.ts';
import { parseReference } from './references.ts';
import { splitUnescaped, unescapeValue } from './sql.ts';
import { impliedSystem, inPredicate, subsumptionPredicate } from './token-terminology.ts';
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
} from './value-conditions.ts';

/**
 * One parameter answered by its own index table (no chain, not _has/_id/_lastUpdated): which
 * modifiers its type takes and the predicate on the table's rows for its values.
 */

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
  token: ['missing', 'not', 'text', 'of-type', 'in', 'not-in', 'below', 'above'],
  string: ['missing', 'exact', 'contains'],
  reference: ['missing', 'identifier'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  uri: ['missing', 'above', 'below'],
  composite: ['missing'],
};

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
 * (where-clause.ts); values are bound only when the parameter qualifies.
 */
export function drivingCondition(ctx: ConditionContext, target: SearchTarget, name: string, rawValue: string): IndexedCondition | undefined {
  if (name.startsWith('_has:') || name.includes('.')) {
    return undefined;
  }
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (code === '_id' || code === '_lastUpdated' || modifier === 'missing' || modifier === 'not' || modifier === 'not-in') {
    return undefined;
  }
  const defs = target.resourceTypes.map((type) => ctx.conformance.searchParameters.param(type, code));
  if (defs.some((d) => d === undefined || !TABLE_OF[d.type])) {
    return undefined;
  }
  return indexedCondition(ctx, target, defs[0] as SearchParamDef, name, code, modifier, rawValue);
}

/**
 * Whether `name=rawValue` names specific Patients by reference (`patient=x`, `subject=Patient/x`,
 * `subject:Patient=x`, a few ids ORed): a plain reference parameter that may point at a Patient,
 * with local references as values. A person's records are few next to a type's, so such a
 * parameter drives the search whatever its position (where-clause.ts, issue 23).
 */
export function namesPatients(ctx: ConditionContext, target: SearchTarget, name: string, rawValue: string): boolean {
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (name.includes('.') || code.startsWith('_') || (modifier !== undefined && modifier !== 'Patient')) {
    return false;
  }
  const defs = target.resourceTypes.map((type) => ctx.conformance.searchParameters.param(type, code));
  if (!defs.length || defs.some((d) => d?.type !== 'reference' || (d.targets.length > 0 && !d.targets.includes('Patient')))) {
    return false;
  }
  const base = ctx.baseUrl.replace(/\/+$/, '');
  const values = splitUnescaped(rawValue, ',').map((v) => (base && v.startsWith(`${base}/`) ? v.slice(base.length + 1) : v));
  return values.length <= MAX_DRIVING_PATIENTS && values.every((v) => /^(Patient\/)?[A-Za-z0-9\-.]{1,64}$/.test(v));
}

/** More patients than this in one parameter (an OR list) are left to the default driver choice. */
const MAX_DRIVING_PATIENTS = 20;

export function indexedCondition(
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
      const impliedBy = impliedSystem(ctx, target, code);
      if (modifier === 'in' || modifier === 'not-in') {
        // :not-in — resources with no code in the value set, including those without any, like :not.
        return { table, code, predicate: anyOf(values, (v) => inPredicate(ctx, '$ALIAS', name, v, impliedBy)), negate: modifier === 'not-in' };
      }
      if (modifier === 'below' || modifier === 'above') {
        return { table, code, predicate: anyOf(values, (v) => subsumptionPredicate(ctx, '$ALIAS', name, modifier, v, impliedBy)), negate: false };
      }
      // :not — resources that do not have the value, including those without any (search.html#modifiers).
      return { table, code, predicate: anyOf(values, (v) => tokenPredicate(q, '$ALIAS', name, v, impliedBy)), negate: modifier === 'not' };
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
      const typeModifier = isTypeModifier ? checkTargetType(ctx, def, name, modifier as string) : undefined;
      return { table, code, predicate: anyOf(values, (v) => referencePredicate(ctx, def, name, typeModifier, v)), negate: false };
    }
    case 'composite':
      return { table, code, predicate: anyOf(values, (v) => compositePredicate(ctx, target, def, name, v)), negate: false };
    default:
      throw notSupported(`Search parameter '${name}' is of type ${def.type}, which this server does not search.`, name);
  }
}

/** The type a reference parameter's `:Type` modifier names, if it is one of the parameter's targets. */
export function checkTargetType(ctx: ConditionContext, def: SearchParamDef, name: string, type: string): string {
  if (!ctx.conformance.resourceTypes.isKnown(type) || (def.targets.length && !def.targets.includes(type))) {
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
  // A canonical with |version matches that version only; without, any version (search.html#versions).
  return `$ALIAS.url = ${q.bind(value.includes('|') ? value : parsed.url)}`;
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
    const componentDef = ctx.conformance.searchParameters.paramByUrl(target.resourceTypes[0], def.components[i].definition);
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

