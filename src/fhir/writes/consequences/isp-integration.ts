import type { CarePlan, Task } from '@medplum/fhirtypes';
import { planTypeOf, system } from '../../../workflow/kansas-workflow.ts';
import type { FhirContext } from '../../context.ts';
import { writeResource } from '../write-path.ts';
import { serverWriting, type WriteConsequence } from '../write-consequence.ts';
import { readReference } from './care-coordinator.ts';

/** The plan versions an ISP integrates: `basedOn` CarePlan/id/_history/n, or the current version of an unversioned reference. */
async function integratedVersions(ctx: FhirContext, isp: CarePlan): Promise<Map<string, number>> {
  const versions = new Map<string, number>();
  for (const based of isp.basedOn ?? []) {
    const match = /^CarePlan\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/(\d+))?$/.exec(based.reference ?? '');
    if (!match) continue;
    const id = match[1] as string;
    const version = match[2] !== undefined ? Number(match[2]) : Number((await readReference<CarePlan>(ctx, `CarePlan/${id}`))?.meta?.versionId ?? 0);
    versions.set(id, Math.max(version, versions.get(id) ?? 0));
  }
  return versions;
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
  async follow(written, ctx) {
    const isp = written.next as CarePlan | undefined;
    if (!isp || planTypeOf(isp) !== 'isp') return;
    for (const [planId, version] of await integratedVersions(ctx, isp)) {
      const ids = await ctx.search.findMatchingIds(ctx.repo, 'Task', `focus=CarePlan/${planId}&status=${OPEN}&code=${CLOSED_BY_ISP}`, 100);
      for (const id of ids) {
        const task = await readReference<Task>(ctx, `Task/${id}`);
        const focusVersion = Number(/\/_history\/(\d+)$/.exec(task?.focus?.reference ?? '')?.[1] ?? 0);
        if (!task || focusVersion > version) continue;
        const completed: Task & { id: string } = {
          ...task,
          id,
          status: 'completed',
          lastModified: new Date().toISOString(),
          output: [...(task.output ?? []), { type: { text: 'integrated-in' }, valueReference: { reference: `CarePlan/${written.id}/_history/${isp.meta?.versionId}` } }],
        };
        await writeResource(serverWriting(ctx), { interaction: 'update', resource: completed });
      }
    }
  },
};
