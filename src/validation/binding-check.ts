import type { TerminologyService } from '../conformance/terminology-service.ts';
import type { BindingRule } from './compiled-profile.ts';
import { isObject } from './pattern-matching.ts';

/**
 * Required (error) and extensible (warning) bindings checked against local terminology
 * (https://hl7.org/fhir/R4/terminologies.html#strength): @medplum/core checks none
 * (../shared/measurements.md §1a).
 */

export interface Coded {
  readonly system: string | undefined;
  readonly code: string;
}

/** The codes a value of a coded type carries; undefined for a type that carries none (Quantity, string ...). */
export function codesOf(value: unknown, type: string | undefined): Coded[] | undefined {
  if (type === 'code' && typeof value === 'string') {
    return [{ system: undefined, code: value }];
  }
  if (!isObject(value)) {
    return undefined;
  }
  if (type === 'Coding') {
    return typeof value.code === 'string' ? [{ system: typeof value.system === 'string' ? value.system : undefined, code: value.code }] : [];
  }
  if (type === 'CodeableConcept') {
    const codings = Array.isArray(value.coding) ? value.coding : [];
    return codings
      .filter((c): c is Record<string, unknown> => isObject(c) && typeof c.code === 'string')
      .map((c) => ({ system: typeof c.system === 'string' ? c.system : undefined, code: c.code as string }));
  }
  return undefined; // Quantity, string, uri ...: not checked
}

/** A value outside its bound value set: what to report, at which severity, under which rule name. */
export interface BindingViolation {
  readonly severity: 'error' | 'warning';
  readonly rule: 'binding-required' | 'binding-extensible';
  readonly text: string;
}

/** Checks the codes of a value (at `path`) against its binding; undefined when nothing is to be reported. */
export function checkBinding(
  value: unknown,
  binding: BindingRule,
  type: string | undefined,
  path: string,
  terminology: TerminologyService,
): BindingViolation | undefined {
  const codes = codesOf(value, type);
  if (codes === undefined) {
    return undefined;
  }
  let unknown = false;
  for (const c of codes) {
    const m = terminology.membership(binding.valueSet, c.system, c.code);
    if (m === 'member') {
      return undefined;
    }
    if (m === 'unknown') {
      unknown = true;
    }
  }
  if (unknown) {
    return undefined; // value set not decidable locally (external code system): not reported
  }
  const shown = codes.length === 0 ? 'no code' : codes.map((c) => (c.system ? `${c.system}|${c.code}` : `'${c.code}'`)).join(', ');
  if (binding.strength === 'required') {
    return { severity: 'error', rule: 'binding-required', text: `${path}: ${shown} is not in the required value set ${binding.valueSet}` };
  }
  if (codes.length > 0) {
    return {
      severity: 'warning',
      rule: 'binding-extensible',
      text: `${path}: ${shown} is not in the extensible value set ${binding.valueSet}; use a code from it when one fits`,
    };
  }
  return undefined;
}
