import type { Extension, Goal } from '@medplum/fhirtypes';
import { extensionUrl, goalLifecycleForPlan, profileUrl } from '../canonical.ts';
import type { PlanStatus } from '../common-types.ts';
import { extensionsOf } from './fhir-elements.ts';
import type { PlanContext, PlannedResource } from './plan-context.ts';
import { referenceTo } from './plan-references.ts';
import { itemIdOf, requireValue, type StoredResources } from './stored-plan.ts';

/**
 * Goals of a PCSP or ISP as KS Goals addressing the plan's assessed needs, and the core
 * pertainsToGoal extension that links services and steps to them (eLTSS Step or Action).
 */

export interface GoalItem {
  readonly id: string;
  readonly description: string;
  readonly desiredOutcome?: string;
  readonly targetDate?: string;
  readonly addressesNeeds: readonly string[];
}

export function goalResource(ctx: PlanContext<{ planId: string; status: PlanStatus }>, goal: GoalItem, pointer: string): PlannedResource {
  const identifier = ctx.item('goal', goal.id);
  const resource: Goal = {
    resourceType: 'Goal',
    meta: { profile: [profileUrl.goal] },
    identifier: [identifier],
    lifecycleStatus: goalLifecycleForPlan[ctx.doc.status],
    description: { text: goal.description },
    subject: ctx.patient,
    addresses: goal.addressesNeeds.map((id) => referenceTo(ctx.item('need', id))),
  };
  if (goal.targetDate !== undefined || goal.desiredOutcome !== undefined) {
    // gol-1: a target detail needs a measure; the desired outcome is described in words, so the
    // measure is a text-only concept.
    resource.target = [
      {
        ...(goal.desiredOutcome ? { measure: { text: 'Desired outcome' }, detailString: goal.desiredOutcome } : {}),
        ...(goal.targetDate ? { dueDate: goal.targetDate } : {}),
      },
    ];
  }
  return { resource, identifier, pointer };
}

export function pertainsToGoals(ctx: PlanContext<{ planId: string }>, goalIds: readonly string[]): Extension[] {
  return goalIds.map((id) => ({ url: extensionUrl.pertainsToGoal, valueReference: referenceTo(ctx.item('goal', id)) }));
}

/** The ids of the goals a service or step pertains to. */
export function goalIdsOf(extensions: readonly Extension[] | undefined, stored: StoredResources): string[] {
  return extensionsOf(extensions, extensionUrl.pertainsToGoal).map((e) => itemIdOf(requireValue(stored.resolve<Goal>(e.valueReference), 'a goal a service pertains to')));
}
