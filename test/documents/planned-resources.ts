import type { CarePlan, Extension, Observation, Resource } from '@medplum/fhirtypes';
import { identifierSystem } from '../../src/documents/canonical.ts';
import { referenceTo } from '../../src/documents/mapping/plan-references.ts';

/** Finding the resources a mapper planned, and their parts, in the placement tests (pcsp/, bsp/, isp/). */

export type Planned = { resource: Resource; identifier: { value?: string } };

export function item<T extends Resource>(planned: readonly Planned[], kindAndId: string): T {
  const found = planned.find((p) => p.identifier.value?.endsWith(`/${kindAndId}`));
  if (!found) throw new Error(`no planned resource for ${kindAndId}`);
  return found.resource as T;
}

/** The reference other entries of the same transaction use for an item (its fullUrl). */
export function refOf(planned: readonly Planned[], kindAndId: string): string | undefined {
  const found = planned.find((p) => p.identifier.value?.endsWith(`/${kindAndId}`));
  return found ? referenceTo({ system: identifierSystem.planItem, value: found.identifier.value }).reference : undefined;
}

export function plan(planned: readonly Planned[]): CarePlan {
  return planned.find((p) => p.resource.resourceType === 'CarePlan' && p.identifier.value && !p.identifier.value.includes('/'))!.resource as CarePlan;
}

export function components(observation: Observation, code: string): unknown[] {
  return (observation.component ?? []).filter((c) => c.code.coding?.some((x) => x.code === code)).map((c) => c.valueString ?? c.valueBoolean);
}

export function subExtensions(extension: Extension | undefined): Record<string, unknown[]> {
  const values: Record<string, unknown[]> = {};
  for (const sub of extension?.extension ?? []) {
    const key = Object.keys(sub).find((k) => k.startsWith('value'))!;
    (values[sub.url] ??= []).push((sub as unknown as Record<string, unknown>)[key]);
  }
  return values;
}
