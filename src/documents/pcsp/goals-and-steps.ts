import type { Condition, Goal, Task } from '@medplum/fhirtypes';
import { stepStatusForPlan } from '../canonical.ts';
import { compact, nonEmpty } from '../mapping/optional-fields.ts';
import type { PlanContext, PlannedResource } from '../mapping/plan-context.ts';
import { goalIdsOf, goalResource, pertainsToGoals } from '../mapping/plan-goals.ts';
import { itemIdOf, requireValue, type StoredResources } from '../mapping/stored-plan.ts';
import type { PcspDocument, PlanGoal } from './pcsp-types.ts';

/** The PCSP's goals and their steps ↔ KS Goals and the Tasks that pertain to them. */

/** eLTSS Step or Action → Task linked to its Goal with pertainsToGoal (standards.md §1.4). */
function stepResources(ctx: PlanContext<PcspDocument>, goal: PlanGoal, goalIndex: number): PlannedResource[] {
  return (goal.steps ?? []).map((step, index) => {
    const identifier = ctx.item('step', step.id);
    const task: Task = {
      resourceType: 'Task',
      identifier: [identifier],
      extension: pertainsToGoals(ctx, [goal.id]),
      basedOn: [ctx.plan],
      status: stepStatusForPlan[ctx.doc.status],
      intent: 'plan',
      description: step.description,
      for: ctx.patient,
      owner: { display: step.responsible },
    };
    return { resource: task, identifier, pointer: `/goals/${goalIndex}/steps/${index}` };
  });
}

/** Each goal followed by its steps, in document order. */
export function goalAndStepResources(ctx: PlanContext<PcspDocument>): PlannedResource[] {
  return ctx.doc.goals.flatMap((goal, index) => [goalResource(ctx, goal, `/goals/${index}`), ...stepResources(ctx, goal, index)]);
}

export function goalFrom(goal: Goal, steps: readonly Task[], stored: StoredResources): PlanGoal {
  const goalSteps = steps
    .filter((task) => goalIdsOf(task.extension, stored).includes(itemIdOf(goal)))
    .map((task) => ({ id: itemIdOf(task), description: requireValue(task.description, 'a step description'), responsible: requireValue(task.owner?.display, 'who is responsible for a step') }));
  return compact({
    id: itemIdOf(goal),
    description: requireValue(goal.description.text, 'a goal description'),
    desiredOutcome: goal.target?.[0]?.detailString,
    targetDate: goal.target?.[0]?.dueDate,
    addressesNeeds: stored.resolveAll<Condition>(goal.addresses).map(itemIdOf),
    steps: nonEmpty(goalSteps),
  });
}
