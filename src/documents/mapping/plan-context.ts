import type { Identifier, Resource } from '@medplum/fhirtypes';
import { planItemValue, type PlanItemKind } from '../canonical.ts';
import { planIdentifier, planItemIdentifier, referenceTo, type PlanReference } from './plan-references.ts';

/** What each mapper (PCSP, BSP, ISP → FHIR) works with while it turns one document into resources. */

/** One resource the mapper wants written, with where it came from in the document. */
export interface PlannedResource {
  readonly resource: Resource;
  /** The identifier the conditional update matches on. */
  readonly identifier: Identifier;
  /** JSON pointer of the document part this resource came from (to translate profile errors). */
  readonly pointer: string;
}

/** One document being mapped: the references every resource of the plan carries. */
export interface PlanContext<D extends { readonly planId: string }> {
  readonly doc: D;
  /** The Patient: a new entry of the PCSP, a conditional reference from a BSP or ISP. */
  readonly patient: PlanReference;
  /** The plan's own CarePlan. */
  readonly plan: PlanReference;
  /** The ks-plan-item identifier `<planId>/<kind>/<id>` of one item of the plan. */
  item(kind: PlanItemKind, id: string): Identifier;
}

export function planContext<D extends { readonly planId: string }>(doc: D, patient: PlanReference): PlanContext<D> {
  return {
    doc,
    patient,
    plan: referenceTo(planIdentifier(doc.planId)),
    item: (kind, id) => planItemIdentifier(planItemValue(doc.planId, kind, id)),
  };
}

/**
 * References to the planned resources of the given types, for the CarePlan's lists (goal,
 * addresses, supportingInfo, activity); `kinds` narrows them to items of those plan-item kinds.
 */
export function referencesOf(planned: readonly PlannedResource[], types: readonly string[], kinds?: readonly PlanItemKind[]): PlanReference[] {
  return planned
    .filter((p) => types.includes(p.resource.resourceType) && (!kinds || kinds.some((k) => p.identifier.value?.includes(`/${k}/`))))
    .map((p) => referenceTo(p.identifier));
}
