import type { CarePlan, Identifier, Observation, Reference, Resource } from '@medplum/fhirtypes';
import { identifierSystem } from '../canonical.ts';
import { identifiersOf } from './plan-references.ts';

/** Raised when stored resources don't hold what a document needs (edited outside kanplan). */
export class StoredPlanError extends Error {}

export function requireValue<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new StoredPlanError(`The stored plan is missing ${what}.`);
  }
  return value;
}

/**
 * The stored resources of one plan, as the server returns them (ids assigned, references of the
 * form `Type/id` or absolute URLs), indexed for the reverse mappers.
 */
export class StoredResources {
  readonly #byTypeAndId = new Map<string, Resource>();
  readonly resources: readonly Resource[];

  constructor(resources: readonly Resource[]) {
    this.resources = resources;
    for (const resource of resources) {
      if (resource.id) {
        this.#byTypeAndId.set(`${resource.resourceType}/${resource.id}`, resource);
      }
    }
  }

  /** Resolves `Type/id`, `Type/id/_history/n` or `http://base/Type/id`. */
  resolve<T extends Resource>(reference: Reference | undefined): T | undefined {
    const key = typeAndId(reference?.reference);
    return key === undefined ? undefined : (this.#byTypeAndId.get(key) as T | undefined);
  }

  resolveAll<T extends Resource>(references: readonly (Reference | undefined)[] | undefined): T[] {
    return (references ?? []).flatMap((reference) => {
      const found = this.resolve<T>(reference);
      return found ? [found] : [];
    });
  }

  /** The CarePlan with this planId, or the only plan of `planType` when no id is given. */
  carePlan(planId: string | undefined, profile: string): CarePlan {
    const plans = this.resources.filter(
      (r): r is CarePlan => r.resourceType === 'CarePlan' && (r.meta?.profile ?? []).includes(profile),
    );
    const plan = planId === undefined ? (plans.length === 1 ? plans[0] : undefined) : plans.find((p) => planIdOf(p) === planId);
    if (!plan) {
      throw new StoredPlanError(planId === undefined ? `Expected exactly one plan with profile ${profile}, found ${plans.length}.` : `No stored plan has the id ${planId}.`);
    }
    return plan;
  }
}

export function typeAndId(reference: string | undefined): string | undefined {
  const match = reference === undefined ? null : /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

export function planIdOf(resource: { identifier?: Identifier[] }): string | undefined {
  return resource.identifier?.find((i) => i.system === identifierSystem.planId)?.value;
}

/** The plan id (ks-plan-id identifier) of a stored CarePlan of a document. */
export function storedPlanId(plan: CarePlan): string {
  return requireValue(planIdOf(plan), 'the plan id');
}

/** A document's effectivePeriod (both dates required) from CarePlan.period. */
export function effectivePeriodOf(plan: CarePlan): { start: string; end: string } {
  return { start: requireValue(plan.period?.start, 'the plan start'), end: requireValue(plan.period?.end, 'the plan end') };
}

/** The item id of a ks-plan-item identifier `<planId>/<kind>/<itemId>`. */
export function itemIdOf(resource: Resource | undefined): string {
  const value = identifiersOf(resource).find((i) => i.system === identifierSystem.planItem)?.value;
  const itemId = value?.split('/').slice(2).join('/');
  if (!itemId) {
    throw new StoredPlanError(`A ${resource?.resourceType ?? 'resource'} of the plan has no ks-plan-item identifier.`);
  }
  return itemId;
}

export function itemKindOf(resource: Resource): string | undefined {
  const value = identifiersOf(resource).find((i) => i.system === identifierSystem.planItem)?.value;
  return value?.split('/')[1];
}

/** The resources of one type made from plan items of one kind (ks-plan-item `<planId>/<kind>/...`). */
export function ofKind<T extends Resource>(resources: readonly Resource[], type: T['resourceType'], kind: string): T[] {
  return resources.filter((r): r is T => r.resourceType === type && itemKindOf(r) === kind);
}

/** The Observation among `resources` made from the plan item with this id. */
export function observationOfItem(resources: readonly Resource[], itemId: string): Observation | undefined {
  return resources.find((r): r is Observation => r.resourceType === 'Observation' && itemIdOf(r) === itemId);
}

/** The planId a reference carries in its identifier (conditional references keep it). */
export function referencedPlanId(reference: Reference | undefined, stored: StoredResources): string | undefined {
  if (reference?.identifier?.system === identifierSystem.planId) {
    return reference.identifier.value;
  }
  const target = stored.resolve<CarePlan>(reference);
  return target ? planIdOf(target) : undefined;
}
