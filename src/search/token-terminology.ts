import { tryGetDataType } from '@medplum/core';
import type { Conformance } from '../conformance/conformance.ts';
import { subsumptionCodes } from '../conformance/code-hierarchy.ts';
import type { SearchParamDef } from '../conformance/search-parameter-definition.ts';
import { TerminologyError } from '../conformance/terminology-service.ts';
import { badRequest, notSupported } from '../outcomes.ts';
import type { ConditionContext, SearchTarget } from './condition-target.ts';
import { splitUnescaped, unescapeValue, type SqlBuilder } from './sql.ts';

/**
 * Token searches that need terminology (https://hl7.org/fhir/R4/search.html#token, #modifiers):
 * the system a `code`-typed element implies, and `:in`, `:not-in`, `:below`, `:above` answered
 * from the local code systems and value sets (conformance/terminology-service.ts). The index is
 * unchanged: a `code` element is indexed without a system, and these predicates add the implied
 * one at query time.
 */

const implied = new WeakMap<SearchParamDef, string | null>();

/** A plain path `Type.a.b`; anything else (where(), as(), resolve()) implies no system. */
const PLAIN_PATH = /^([A-Z][A-Za-z]*)((?:\.[a-z][A-Za-z]*)+)$/;

/** The system every part of one type's expression implies, or null when some part implies none. */
export function impliedSystemOf(conformance: Conformance, def: SearchParamDef): string | null {
  const known = implied.get(def);
  if (known !== undefined) {
    return known;
  }
  let system: string | null | undefined;
  for (const part of (def.expressionText ?? '').split('|').map((p) => p.trim())) {
    const m = PLAIN_PATH.exec(part);
    let type: string | undefined = m?.[1];
    let binding: { strength?: string; valueSet?: string } | undefined;
    for (const name of m ? m[2].slice(1).split('.') : []) {
      const el = type ? tryGetDataType(type)?.elements[name] : undefined;
      type = el?.type?.length === 1 ? el.type[0].code : undefined;
      binding = el?.binding;
    }
    // R4 datatypes.html#code: a `code` with a required binding draws on that value set's system.
    const systems = type === 'code' && binding?.strength === 'required' && binding.valueSet ? [...conformance.terminology.systemsOf(binding.valueSet)] : [];
    const one = systems.length === 1 ? systems[0] : null;
    system = system === undefined || system === one ? one : null;
    if (system === null) break;
  }
  const result = system ?? null;
  implied.set(def, result);
  return result;
}

/** The system implied for the parameter on every type of the target, or undefined. */
export function impliedSystem(ctx: ConditionContext, target: SearchTarget, code: string): string | undefined {
  const systems = new Set(
    target.resourceTypes.map((type) => {
      const def = ctx.conformance.searchParameters.param(type, code);
      return def && def.type === 'token' ? impliedSystemOf(ctx.conformance, def) : null;
    }),
  );
  const [only] = systems;
  return systems.size === 1 && only ? only : undefined;
}

/** Rows holding one of `codes` of `system`; for the implied system also the rows without one. */
function codesPredicate(q: SqlBuilder, a: string, system: string, codes: readonly string[], impliedBy: string | undefined): string {
  const values = `${a}.value = ANY(${q.bind([...codes])}::text[])`;
  const withSystem = `(${a}.system = ${q.bind(system)} AND ${values})`;
  return system === impliedBy ? `(${withSystem} OR (${a}.system IS NULL AND ${values}))` : withSystem;
}

/** `:in` / `:not-in` with a ValueSet's canonical URL: rows whose system|code is a member. */
export function inPredicate(ctx: ConditionContext, a: string, name: string, raw: string, impliedBy: string | undefined): string {
  const url = unescapeValue(raw);
  let members: ReturnType<typeof ctx.conformance.terminology.members>;
  try {
    members = ctx.conformance.terminology.members(url);
  } catch (err) {
    if (err instanceof TerminologyError) {
      throw notSupported(`Search parameter '${name}': ${err.message}, so it cannot be searched with :in or :not-in; search its codes as system|code values instead.`, name);
    }
    throw err;
  }
  if (!members) {
    throw badRequest(
      `Search parameter '${name}': ${url} is not a ValueSet this server holds (the R4, US Core 6.1.0 and Kansas value sets; see ValueSet/$expand); give one of their canonical URLs.`,
      name,
    );
  }
  const parts = [...members.codes].map(([system, codes]) => codesPredicate(ctx.q, a, system, codes, impliedBy));
  if (members.wholeSystems.length) {
    parts.push(`${a}.system = ANY(${ctx.q.bind([...members.wholeSystems])}::text[])`);
  }
  return parts.length ? parts.join(' OR ') : 'false';
}

/**
 * `:below` / `:above` with `system|code` (or a bare code where the element implies its system):
 * rows with the code or a code it subsumes (below) or that subsumes it (above) in the local
 * code system's hierarchy.
 */
export function subsumptionPredicate(ctx: ConditionContext, a: string, name: string, direction: 'below' | 'above', raw: string, impliedBy: string | undefined): string {
  const parts = splitUnescaped(raw, '|').map(unescapeValue);
  const [system, code] = parts.length === 2 ? parts : [impliedBy, parts[0]];
  if (parts.length > 2 || !system || !code) {
    throw badRequest(`Search parameter '${name}' takes system|code, e.g. ${name}=http://terminology.hl7.org/CodeSystem/v3-ActCode|_ActAccountCode, not '${raw}'.`, name);
  }
  const codes = subsumptionCodes(ctx.conformance.terminology, system, code, direction);
  if (!codes) {
    const cs = ctx.conformance.terminology.getCodeSystem(system);
    if (cs?.concept) {
      throw badRequest(`Search parameter '${name}': ${system} has no code '${code}'.`, name);
    }
    throw notSupported(
      `Search parameter '${name}': the hierarchy of ${system} is not held by this server (only the R4, v2, v3, US Core and Kansas code systems are), so :${direction} cannot be answered; search the codes as system|code values instead.`,
      name,
    );
  }
  return codesPredicate(ctx.q, a, system, codes, impliedBy);
}
