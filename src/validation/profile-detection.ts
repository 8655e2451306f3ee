import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { KANSAS_CANONICAL_BASE } from '../conformance/kansas-package.ts';
import type { TerminologyService } from '../conformance/terminology-service.ts';
import { findElementRule, type CompiledProfile, type ElementRule } from './compiled-profile.ts';
import { deepEqual, isObject, matchesPattern, matchesSlice } from './pattern-matching.ts';

/**
 * Which Kansas profile a resource belongs to when its meta.profile is silent (issue 5: "resources
 * in the Kansas plan types are validated against their Kansas profile even when meta.profile is
 * absent"). The knowledge is the profiles' own: a Kansas profile names, with the extension
 * `ks-identifying-element` on its StructureDefinition, the element whose value identifies its
 * instances (profiles/CATALOG.md), and that element's definition in the snapshot says which values
 * do:
 *  - a slice: a value that belongs to the slice by its discriminators
 *    (KS PCSP: `CarePlan.category:ksPlanType`, pattern `ks-plan-type#pcsp`);
 *  - fixed[x] or pattern[x]: a value equal to it or matching it;
 *  - a required binding: a coding from a code system of the bound value set
 *    (KS Workflow Task: `Task.code` bound to `VS ks-task-type`), whether or not the code is in it,
 *    so that a Task with an unknown Kansas task type is still validated (and rejected) as one.
 * Profiles that name no identifying element (KS Patient, KS PractitionerRole ...) are applied only
 * when meta.profile names them.
 */

/** The extension by which a Kansas profile names the element that identifies its instances. */
export const IDENTIFYING_ELEMENT_EXTENSION = `${KANSAS_CANONICAL_BASE}/StructureDefinition/ks-identifying-element`;

interface ProfileSignal {
  /** Canonical URL of the profile the signal identifies. */
  readonly profile: string;
  /** JSON property names from the resource to the identifying element's values. */
  readonly path: readonly string[];
  readonly matches: (value: unknown) => boolean;
}

export interface KansasProfileDetection {
  /** The Kansas profile the resource's content identifies it as, if any. */
  detect(resource: Resource): string | undefined;
}

/** Where the compiled profiles and the terminology that detection reads come from (a ProfileRegistry). */
export interface DetectionSource {
  rules(url: string): CompiledProfile | undefined;
  readonly terminology: TerminologyService;
}

/** `CarePlan.category:ksPlanType` -> ['category']; slice names drop out, the path stays. */
function propertyPath(profile: string, elementId: string): string[] {
  const [, ...segments] = elementId.split('.');
  return segments.map((segment) => {
    const name = segment.split(':')[0];
    if (name.endsWith('[x]')) {
      throw new Error(`${profile}: identifying element ${elementId} is a choice element; name the typed element instead`);
    }
    return name;
  });
}

function valuesAt(resource: Resource, path: readonly string[]): unknown[] {
  let values: unknown[] = [resource];
  for (const key of path) {
    values = values.flatMap((value) => {
      const next = isObject(value) ? value[key] : undefined;
      return next === undefined ? [] : Array.isArray(next) ? next : [next];
    });
  }
  return values;
}

/** The code systems of a Coding or of the codings of a CodeableConcept. */
function codingSystems(value: unknown): string[] {
  if (!isObject(value)) {
    return [];
  }
  const codings = Array.isArray(value.coding) ? value.coding : [value];
  return codings.flatMap((c) => (isObject(c) && typeof c.system === 'string' ? [c.system] : []));
}

function valueTest(profile: string, rule: ElementRule, terminology: TerminologyService): (value: unknown) => boolean {
  if (rule.sliceName && rule.discriminators?.length) {
    return (value) => matchesSlice(value, rule);
  }
  const { fixed, pattern, binding } = rule;
  if (fixed !== undefined) {
    return (value) => deepEqual(value, fixed);
  }
  if (pattern !== undefined) {
    return (value) => matchesPattern(value, pattern);
  }
  if (binding?.strength === 'required' && rule.types.every((t) => t === 'Coding' || t === 'CodeableConcept')) {
    const systems = terminology.systemsOf(binding.valueSet);
    if (systems.size === 0) {
      throw new Error(`${profile}: the value set ${binding.valueSet} bound to identifying element ${rule.id} is not known`);
    }
    return (value) => codingSystems(value).some((system) => systems.has(system));
  }
  throw new Error(`${profile}: identifying element ${rule.id} has no slice discriminator, fixed[x], pattern[x] or required coded binding`);
}

function signalsOf(sd: StructureDefinition, source: DetectionSource): ProfileSignal[] {
  const elementIds = (sd.extension ?? []).filter((e) => e.url === IDENTIFYING_ELEMENT_EXTENSION).map((e) => e.valueString);
  if (elementIds.length === 0) {
    return [];
  }
  const compiled = source.rules(sd.url);
  if (!compiled) {
    throw new Error(`${sd.url} names an identifying element but is not a known profile`);
  }
  return elementIds.map((id) => {
    const rule = id === undefined ? undefined : findElementRule(compiled.root, id);
    if (id === undefined || !rule) {
      throw new Error(`${sd.url}: identifying element ${id ?? '(no valueString)'} is not in its snapshot`);
    }
    return { profile: sd.url, path: propertyPath(sd.url, id), matches: valueTest(sd.url, rule, source.terminology) };
  });
}

/**
 * Builds the detection table once from the Kansas profiles (conformance.kansas.profiles) and their
 * compiled snapshots. A resource is detected as the profile whose identifying value it carries
 * first (earliest in the element's values); two profiles matching the same value: the first in
 * the package. (KS CarePlan profiles forbid two plan types anyway, invariant ks-plan-1.)
 */
export function compileKansasProfileDetection(profiles: readonly StructureDefinition[], source: DetectionSource): KansasProfileDetection {
  const byType = new Map<string, ProfileSignal[]>();
  for (const sd of profiles) {
    const signals = signalsOf(sd, source);
    if (signals.length > 0) {
      byType.set(sd.type, [...(byType.get(sd.type) ?? []), ...signals]);
    }
  }
  return {
    detect(resource) {
      let best: { profile: string; index: number } | undefined;
      for (const signal of byType.get(resource.resourceType) ?? []) {
        const index = valuesAt(resource, signal.path).findIndex(signal.matches);
        if (index >= 0 && (best === undefined || index < best.index)) {
          best = { profile: signal.profile, index };
        }
      }
      return best?.profile;
    },
  };
}
