import type { ElementRule } from './compiled-profile.ts';

/**
 * FHIR fixed[x] and pattern[x] semantics (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.pattern_x_)
 * and slice membership by value/pattern discriminators
 * (https://hl7.org/fhir/R4/profiling.html#discriminator), read from a compiled profile.
 */

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** FHIR pattern semantics: every element of the pattern is present in the value (arrays: each pattern item matches some value item). */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && pattern.every((p) => value.some((v) => matchesPattern(v, p)));
  }
  if (isObject(pattern)) {
    return isObject(value) && Object.keys(pattern).every((k) => matchesPattern(value[k], pattern[k]));
  }
  return value === pattern;
}

function valueAtPath(value: unknown, path: string): unknown {
  if (path === '$this') {
    return value;
  }
  let current: unknown = value;
  for (const part of path.split('.')) {
    if (!isObject(current)) {
      return undefined;
    }
    current = current[part];
  }
  return current;
}

function ruleAtPath(rule: ElementRule, path: string): ElementRule | undefined {
  if (path === '$this') {
    return rule;
  }
  let current: ElementRule | undefined = rule;
  for (const part of path.split('.')) {
    current = current?.children.find((c) => c.key === part);
  }
  return current;
}

/** Whether a value belongs to a slice, by the slice's value/pattern discriminators. */
export function matchesSlice(value: unknown, slice: ElementRule): boolean {
  const discriminators = slice.discriminators ?? [];
  if (discriminators.length === 0) {
    return false;
  }
  for (const d of discriminators) {
    if (d.type !== 'value' && d.type !== 'pattern') {
      return false;
    }
    const target = ruleAtPath(slice, d.path);
    const actual = valueAtPath(value, d.path);
    if (!target) {
      return false;
    }
    if (target.fixed !== undefined) {
      if (!deepEqual(actual, target.fixed)) {
        return false;
      }
    } else if (target.pattern !== undefined) {
      if (!matchesPattern(actual, target.pattern)) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}
