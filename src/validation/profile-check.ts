import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { TerminologyService } from '../conformance/terminology-service.ts';
import { checkBinding } from './binding-check.ts';
import type { CompiledProfile, ElementRule } from './compiled-profile.ts';
import { deepEqual, isObject, matchesPattern, matchesSlice } from './pattern-matching.ts';

/**
 * Kansas checks that close the gaps of @medplum/core's validator (../shared/measurements.md §1a,
 * ../shared/snapshots.md step 1b), run from a StructureDefinition snapshot compiled once:
 *  - required bindings (error) and extensible bindings (warning), against local terminology;
 *  - inside matched slices and extensions: cardinality, fixed[x]/pattern[x] values and the content
 *    of the slice (medplum only counts slices);
 *  - the value type of a choice element narrowed by a profile (an extension with valueString where
 *    the extension allows only CodeableConcept);
 *  - the content of every extension whose definition this server has, wherever it occurs.
 */

function describe(value: unknown): string {
  return JSON.stringify(value);
}

/** Where the rules for an extension URL and for a base datatype come from. */
export interface RuleSource {
  extension(url: string): CompiledProfile | undefined;
  datatype(type: string): ElementRule | undefined;
}

interface WalkContext {
  readonly profileUrl: string;
  readonly issues: OperationOutcomeIssue[];
  readonly terminology: TerminologyService;
  readonly rules: RuleSource;
}

export function checkResourceAgainstProfile(
  resource: Record<string, unknown>,
  profile: CompiledProfile,
  terminology: TerminologyService,
  rules: RuleSource,
  issues: OperationOutcomeIssue[],
): void {
  const ctx: WalkContext = { profileUrl: profile.url, issues, terminology, rules };
  checkObject(resource, profile.root, profile.type, ctx, false);
}

function report(
  ctx: WalkContext,
  severity: 'error' | 'warning',
  code: OperationOutcomeIssue['code'],
  rule: ElementRule,
  kind: string,
  path: string,
  text: string,
  profileUrl: string = ctx.profileUrl,
): void {
  ctx.issues.push({
    severity,
    code,
    details: { text },
    diagnostics: `profile ${profileUrl}, element ${rule.id}, rule ${kind}`,
    expression: [path],
  });
}

interface PropertyValues {
  key: string;
  type: string | undefined;
  values: unknown[];
  isArray: boolean;
}

function propertyValues(obj: Record<string, unknown>, rule: ElementRule): PropertyValues[] {
  if (!rule.choice) {
    const raw = obj[rule.key];
    if (raw === undefined) {
      return [];
    }
    return [{ key: rule.key, type: rule.types.length === 1 ? rule.types[0] : undefined, values: Array.isArray(raw) ? raw : [raw], isArray: Array.isArray(raw) }];
  }
  const out: PropertyValues[] = [];
  for (const key of Object.keys(obj)) {
    if (key.length > rule.key.length && key.startsWith(rule.key)) {
      const suffix = key.slice(rule.key.length);
      const first = suffix.charCodeAt(0);
      if (first < 65 || first > 90) {
        continue; // not "<name><Type>"
      }
      const raw = obj[key];
      out.push({ key, type: suffix, values: Array.isArray(raw) ? raw : [raw], isArray: Array.isArray(raw) });
    }
  }
  return out;
}

function typeAllowed(types: readonly string[], suffix: string): boolean {
  for (const t of types) {
    if (t === suffix || (t.length === suffix.length && t[0].toUpperCase() === suffix[0] && t.slice(1) === suffix.slice(1))) {
      return true;
    }
  }
  return false;
}

function checkObject(obj: Record<string, unknown>, rule: ElementRule, path: string, ctx: WalkContext, strict: boolean): void {
  for (const child of rule.children) {
    if (!strict && !child.checked) {
      continue;
    }
    const isExtensionList = child.key === 'extension' || child.key === 'modifierExtension';
    if (child.slices.length > 0 && child.min === 0 && !child.choice && obj[child.key] === undefined && !(strict && isExtensionList)) {
      // medplum counts slices only when the sliced element is present (snapshots.md caveat (b)):
      // a required slice of an absent element would pass silently. (In strict context the
      // extension slices are counted by checkSliceCounts.)
      for (const slice of child.slices) {
        if (slice.min > 0) {
          report(ctx, 'error', 'required', slice, 'slice-cardinality', `${path}.${child.key}`,
            `${path}.${child.key}: slice '${slice.sliceName}' expects ${slice.min}..${Number.isFinite(slice.max) ? slice.max : '*'} values, found 0`);
        }
      }
    }
    if (isExtensionList) {
      // Extensions are checked against their own definitions below; slices only matter for counts.
      if (strict && child.slices.length > 0) {
        checkSliceCounts(obj, child, path, ctx);
        checkInlineExtensionSlices(obj, child, path, ctx);
      }
      if (strict && child.slices.length === 0) {
        // With slices, the slice counts say it better (the sliced min is only the sum of their mins).
        checkCardinality(obj, child, path, ctx);
      }
      continue;
    }
    const entries = propertyValues(obj, child);
    if (strict) {
      let count = 0;
      for (const e of entries) {
        count += e.values.length;
      }
      if (count < child.min || count > child.max) {
        report(ctx, 'error', count < child.min ? 'required' : 'structure', child, 'cardinality', `${path}.${child.key}`,
          `${path}.${child.key}: expected ${child.min}..${Number.isFinite(child.max) ? child.max : '*'} values, found ${count}`);
      }
    }
    for (const entry of entries) {
      // Outside slices and extensions medplum already rejects a type the profile does not allow
      // ("Invalid additional property"); inside them it does not look (snapshots.md 1b).
      if (child.choice && entry.type && strict && child.types.length > 0 && !typeAllowed(child.types, entry.type)) {
        report(ctx, 'error', 'structure', child, 'type', `${path}.${entry.key}`,
          `${path}.${entry.key}: type ${entry.type} is not allowed here; allowed: ${child.types.join(', ')}`);
        continue;
      }
      // JSON suffixes capitalise primitives (valueCode): use the declared type name ('code').
      const declaredType = entry.type === undefined ? undefined : (child.types.find((t) => typeAllowed([t], entry.type as string)) ?? entry.type);
      const sliceMatches = child.slices.length > 0 ? new Map<ElementRule, number>() : undefined;
      for (let i = 0; i < entry.values.length; i++) {
        const value = entry.values[i];
        const valuePath = entry.isArray ? `${path}.${entry.key}[${i}]` : `${path}.${entry.key}`;
        let matched = false;
        if (sliceMatches) {
          for (const slice of child.slices) {
            if (matchesSlice(value, slice)) {
              matched = true;
              sliceMatches.set(slice, (sliceMatches.get(slice) ?? 0) + 1);
              // Content of the matched slice: medplum only counts slices (snapshots.md 1b, #3).
              checkValue(value, slice, declaredType, valuePath, ctx, true);
            }
          }
        }
        if (!matched) {
          checkValue(value, child, declaredType, valuePath, ctx, strict);
        }
      }
      if (sliceMatches && strict) {
        for (const slice of child.slices) {
          const n = sliceMatches.get(slice) ?? 0;
          if (n < slice.min || n > slice.max) {
            report(ctx, 'error', n < slice.min ? 'required' : 'structure', slice, 'slice-cardinality', `${path}.${entry.key}`,
              `${path}.${entry.key}: slice '${slice.sliceName}' expects ${slice.min}..${Number.isFinite(slice.max) ? slice.max : '*'} values, found ${n}`);
          }
        }
      }
    }
  }
  // Every extension this server defines is checked against its definition, wherever it occurs.
  checkExtensions(obj.extension, path, 'extension', ctx);
  checkExtensions(obj.modifierExtension, path, 'modifierExtension', ctx);
}

function checkCardinality(obj: Record<string, unknown>, rule: ElementRule, path: string, ctx: WalkContext): void {
  const raw = obj[rule.key];
  const count = raw === undefined ? 0 : Array.isArray(raw) ? raw.length : 1;
  if (count < rule.min || count > rule.max) {
    report(ctx, 'error', count < rule.min ? 'required' : 'structure', rule, 'cardinality', `${path}.${rule.key}`,
      `${path}.${rule.key}: expected ${rule.min}..${Number.isFinite(rule.max) ? rule.max : '*'} values, found ${count}`);
  }
}

function checkSliceCounts(obj: Record<string, unknown>, rule: ElementRule, path: string, ctx: WalkContext): void {
  const raw = obj[rule.key];
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const slice of rule.slices) {
    let n = 0;
    for (const v of values) {
      if (matchesSlice(v, slice)) {
        n++;
      }
    }
    if (n < slice.min || n > slice.max) {
      report(ctx, 'error', n < slice.min ? 'required' : 'structure', slice, 'slice-cardinality', `${path}.${rule.key}`,
        `${path}.${rule.key}: slice '${slice.sliceName}' expects ${slice.min}..${Number.isFinite(slice.max) ? slice.max : '*'} values, found ${n}`);
    }
  }
}

/** Sub-extensions of a complex extension are slices defined inline (no profile): check their content. */
function checkInlineExtensionSlices(obj: Record<string, unknown>, rule: ElementRule, path: string, ctx: WalkContext): void {
  const raw = obj[rule.key];
  if (!Array.isArray(raw)) {
    return;
  }
  for (let i = 0; i < raw.length; i++) {
    for (const slice of rule.slices) {
      if (!slice.extensionProfile && matchesSlice(raw[i], slice)) {
        checkValue(raw[i], slice, 'Extension', `${path}.${rule.key}[${i}]`, ctx, true);
      }
    }
  }
}

const ANY_ELEMENT_CONTEXTS = new Set(['Element', 'Resource', 'DomainResource', 'BackboneElement']);

/** An extension may only sit where its definition's context allows (https://hl7.org/fhir/R4/defining-extensions.html#context). */
function checkContext(definition: CompiledProfile, hostPath: string, extPath: string, ctx: WalkContext): void {
  if (!definition.contexts || definition.contexts.length === 0) {
    return;
  }
  const element = hostPath.replace(/\[\d+\]/g, '');
  if (definition.contexts.some((c) => c === element || ANY_ELEMENT_CONTEXTS.has(c))) {
    return;
  }
  report(ctx, 'error', 'structure', definition.root, 'context', extPath,
    `${extPath}: extension ${definition.url} is not allowed on ${element}; allowed on: ${definition.contexts.join(', ')}`);
}

function checkExtensions(raw: unknown, path: string, key: string, ctx: WalkContext): void {
  if (!Array.isArray(raw)) {
    return;
  }
  for (let i = 0; i < raw.length; i++) {
    const ext = raw[i];
    if (!isObject(ext) || typeof ext.url !== 'string') {
      continue;
    }
    const definition = ctx.rules.extension(ext.url);
    const extPath = `${path}.${key}[${i}]`;
    if (definition) {
      const inner: WalkContext = { ...ctx, profileUrl: definition.url };
      checkContext(definition, path, extPath, inner);
      checkObject(ext, definition.root, extPath, inner, true);
    } else if (Array.isArray(ext.extension)) {
      checkExtensions(ext.extension, extPath, 'extension', ctx);
    }
  }
}

function checkValue(value: unknown, rule: ElementRule, type: string | undefined, path: string, ctx: WalkContext, strict: boolean): void {
  if (strict) {
    if (rule.fixed !== undefined && !deepEqual(value, rule.fixed)) {
      report(ctx, 'error', 'value', rule, 'fixed', path, `${path}: value must be exactly ${describe(rule.fixed)}`);
    } else if (rule.pattern !== undefined && !matchesPattern(value, rule.pattern)) {
      report(ctx, 'error', 'value', rule, 'pattern', path, `${path}: value must match pattern ${describe(rule.pattern)}`);
    }
  }
  if (rule.binding && !(rule.binding.strength === 'extensible' && (rule.fixed !== undefined || rule.pattern !== undefined))) {
    const violation = checkBinding(value, rule.binding, type ?? rule.types[0], path, ctx.terminology);
    if (violation) {
      report(ctx, violation.severity, 'code-invalid', rule, violation.rule, path, violation.text);
    }
  }
  if (!isObject(value)) {
    return;
  }
  if (rule.children.length > 0) {
    checkObject(value, rule, path, ctx, strict);
  } else if (type) {
    const concrete = (type === 'Resource' || type === 'DomainResource') && typeof value.resourceType === 'string' ? value.resourceType : type;
    const datatype = ctx.rules.datatype(concrete);
    if (datatype) {
      checkObject(value, datatype, path, ctx, false);
    } else {
      checkExtensions(value.extension, path, 'extension', ctx);
    }
  }
}
