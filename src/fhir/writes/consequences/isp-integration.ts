import type { CarePlan, Task } from '@medplum/fhirtypes';
import { planTypeOf, system } from '../../../workflow/kansas-workflow.ts';
import type { FhirContext } from '../../context.ts';
import { writeResource } from '../write-path.ts';
import { serverWriting, type WriteConsequence } from '../write-consequence.ts';
import { readReference } from './care-coordinator.ts';

/** A reference to a plan, versioned or not (ISP basedOn, Task focus). */
const BASED_ON = /^CarePlan\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/(\d+))?$/;

/** The plans an ISP integrates (`basedOn` CarePlan/id/_history/n, or CarePlan/id for its current version): id → version, if named. */
function integratedPlans(isp: CarePlan): Map<string, number | undefined> {
  const plans = new Map<string, number | undefined>();
  for (const based of isp.basedOn ?? []) {
    const match = BASED_ON.exec(based.reference ?? '');
    if (!match) continue;
    const id = match[1] as string;
    const version = match[2] === undefined ? undefined : Number(match[2]);
    // An unversioned reference (the current version) integrates more than any named version.
    const known = plans.has(id) ? plans.get(id) : 0;
    plans.set(id, known === undefined || version === undefined ? undefined : Math.max(version, known));
  }
  return plans;
}

/** The version an ISP integrates of one plan: the one it names, else the plan's current version. */
async function integratedVersion(ctx: FhirContext, id: string, named: number | undefined): Promise<number> {
  return named ?? Number((await readReference<CarePlan>(ctx, `CarePlan/${id}`))?.meta?.versionId ?? 0);
}

const OPEN = 'requested,received,in-progress';
const CLOSED_BY_ISP = ['notify-change-of-needs', 'update-isp'].map((code) => encodeURIComponent(`${system.taskType}|${code}`)).join(',');

/**
 * issue 16 "ISP update": saving an ISP whose basedOn integrates a PCSP (or BSP) version completes
 * the open notify-change-of-needs and update-isp Tasks about that plan up to that version, with
 * the ISP version as their output. The Tasks move by the state machine (requested → completed by
 * the owner's ISP); a Task about a later version stays open.
 */
export const ispIntegrationConsequence: WriteConsequence = {
  name: 'update-isp completion when an ISP integrates the plan version',
  resourceTypes: new Set(['CarePlan']),
  concernsCreated: (resource) => planTypeOf(resource as CarePlan) === 'isp' && (resource as CarePlan).basedOn !== undefined,
  async follow(written, ctx) {
    const isp = written.next as CarePlan | undefined;
    if (!isp || planTypeOf(isp) !== 'isp') return;
    const plans = integratedPlans(isp);
    if (plans.size === 0) return;
    // One search for the open Tasks about every plan it integrates; the plans' versions are read
    // only when there are some (a first ISP has none).
    const focus = [...plans.keys()].map((id) => `CarePlan/${id}`).join(',');
    const ids = await ctx.search.findMatchingIds(ctx.repo, 'Task', `focus=${focus}&status=${OPEN}&code=${CLOSED_BY_ISP}`, 100);
    const versions = new Map<string, number>();
    for (const id of ids) {
      const task = await readReference<Task>(ctx, `Task/${id}`);
      const focused = BASED_ON.exec(task?.focus?.reference ?? '');
      const planId = focused?.[1];
      if (!task || !planId || !plans.has(planId)) continue;
      if (!versions.has(planId)) versions.set(planId, await integratedVersion(ctx, planId, plans.get(planId)));
      // A Task about a later version than the ISP integrates stays open (unversioned: about any).
      if (Number(focused[2] ?? 0) > (versions.get(planId) as number)) continue;
      const completed: Task & { id: string } = {
        ...task,
        id,
        status: 'completed',
        lastModified: new Date().toISOString(),
        output: [...(task.output ?? []), { type: { text: 'integrated-in' }, valueReference: { reference: `CarePlan/${written.id}/_history/${isp.meta?.versionId}` } }],
      };
      await writeResource(serverWriting(ctx), { interaction: 'update', resource: completed });
    }
  },
};
