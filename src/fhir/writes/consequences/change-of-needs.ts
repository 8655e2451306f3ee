import type { CarePlan, Resource, Task } from '@medplum/fhirtypes';
import { planTypeOf, profile, system } from '../../../workflow/kansas-workflow.ts';
import { changeLines, itemChange, planItemOf, type PlanItemChange } from '../../../workflow/plan-changes.ts';
import type { Repository } from '../../../store/repository.ts';
import { type FhirContext, withRepo } from '../../context.ts';
import { writeResource } from '../write-path.ts';
import { serverWriting, type WriteConsequence, type WrittenChange } from '../write-consequence.ts';
import { careCoordinatorOf, readReference } from './care-coordinator.ts';

/** What one transaction changed of one PCSP, collected until it commits. */
interface PlanChange {
  carePlanId?: string;
  createdPlan: boolean;
  /** The plan written in this transaction is no PCSP (a BSP's or ISP's items name their plan too). */
  otherPlan?: boolean;
  readonly items: Map<string, PlanItemChange>;
  readonly removed: Set<string>;
  requester?: string;
}

/** Per open transaction (its repository), per plan. */
const collected = new WeakMap<Repository, Map<string, PlanChange>>();

function planIdOf(plan: CarePlan): string | undefined {
  return plan.identifier?.find((id) => id.system === system.planId)?.value;
}

/** The items a plan points at: goals, activities (services), needs addressed, supporting info (risks). */
function itemReferences(plan: CarePlan | undefined): Set<string> {
  const refs = [...(plan?.goal ?? []), ...(plan?.activity ?? []).map((a) => a.reference ?? {}), ...(plan?.addresses ?? []), ...(plan?.supportingInfo ?? [])];
  return new Set(refs.map((r) => r.reference ?? '').filter((r) => /^[A-Za-z]+\/[^/]+$/.test(r)));
}

function collect(repo: Repository, key: string): PlanChange {
  let plans = collected.get(repo);
  if (!plans) collected.set(repo, (plans = new Map()));
  let change = plans.get(key);
  if (!change) plans.set(key, (change = { createdPlan: false, items: new Map(), removed: new Set() }));
  return change;
}

async function findPlan(ctx: FhirContext, key: string, change: PlanChange): Promise<CarePlan | undefined> {
  if (change.carePlanId) return readReference<CarePlan>(ctx, `CarePlan/${change.carePlanId}`);
  const [id] = await ctx.search.findMatchingIds(ctx.repo, 'CarePlan', `identifier=${encodeURIComponent(`${system.planId}|${key}`)}`, 1);
  return id ? readReference<CarePlan>(ctx, `CarePlan/${id}`) : undefined;
}

/** The Task for the care coordinator, written once per plan and transaction, before it commits. */
async function writeChangeTask(ctx: FhirContext, key: string): Promise<void> {
  const change = collected.get(ctx.repo)?.get(key);
  collected.get(ctx.repo)?.delete(key);
  if (!change || change.createdPlan || change.otherPlan) return; // a first import is no change
  const plan = await findPlan(ctx, key, change);
  if (!plan || planTypeOf(plan) !== 'pcsp' || !plan.subject?.reference) return;
  const items = [...change.items.values()];
  for (const reference of change.removed) {
    const removed = itemChange(await readReference<Resource>(ctx, reference), undefined);
    if (removed && !change.items.has(`${removed.kind}/${removed.itemId}`)) items.push(removed);
  }
  const lines = changeLines(items);
  if (lines.length === 0) return;
  const owner = await careCoordinatorOf(ctx, plan.subject.reference);
  const requester = change.requester ?? (plan.author?.reference?.startsWith('PractitionerRole/') ? plan.author.reference : undefined);
  const planName = planIdOf(plan) ?? `CarePlan/${plan.id}`;
  const task: Task = {
    resourceType: 'Task',
    meta: { profile: [profile.workflowTask] },
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: system.taskType, code: 'notify-change-of-needs', display: 'Notify change of needs or status' }] },
    description: `The PCSP ${planName} changed (${lines.length} change${lines.length === 1 ? '' : 's'} in needs, goals, services or risks); integrate it in the ISP.`,
    focus: { reference: `CarePlan/${plan.id}/_history/${plan.meta?.versionId}` },
    for: { reference: plan.subject.reference },
    authoredOn: new Date().toISOString(),
    requester: requester ? { reference: requester } : { display: plan.author?.display ?? 'targeted case manager' },
    ...(owner ? { owner } : {}),
    input: [{ type: { text: 'change-summary' }, valueString: lines.join('\n') }],
  };
  await writeResource(serverWriting(ctx), { interaction: 'create', resource: task });
}

/**
 * issue 16 "Change in needs or status": a PCSP whose needs, goals, services or risks change — by
 * `$import-document` or plain writes — gets one `notify-change-of-needs` Task for the person's
 * care coordinator per transaction, its input the readable summary, its focus the PCSP version.
 * The first import of a plan and an unchanged re-import (nothing written) create none.
 */
export const changeOfNeedsConsequence: WriteConsequence = {
  name: 'notify-change-of-needs on a PCSP change',
  resourceTypes: new Set(['CarePlan', 'Goal', 'ServiceRequest', 'Condition', 'RiskAssessment']),
  // A new PCSP is no change (createdPlan); a new item is one only when it names its plan.
  concernsCreated: (resource) => resource.resourceType !== 'CarePlan' && planItemOf(resource) !== undefined,
  async follow(written: WrittenChange, ctx) {
    let key: string | undefined;
    let plan: CarePlan | undefined;
    if (written.resourceType === 'CarePlan') {
      plan = (written.next ?? written.previous) as CarePlan;
      key = planIdOf(plan) ?? `CarePlan/${written.id}`;
      if (planTypeOf(plan) !== 'pcsp') {
        // Its items, written in the same transaction, are no PCSP's: no lookup of their plan before commit.
        collect(ctx.repo, key).otherPlan = true;
        return;
      }
    } else {
      key = planItemOf(written.next ?? written.previous)?.planId;
    }
    if (!key) return;
    const change = collect(ctx.repo, key);
    if (plan) {
      change.carePlanId = written.id;
      if (!written.previous) change.createdPlan = true;
      const now = itemReferences(written.next as CarePlan | undefined);
      for (const reference of itemReferences(written.previous as CarePlan | undefined)) if (!now.has(reference)) change.removed.add(reference);
    } else {
      const item = itemChange(written.previous, written.next);
      if (item) change.items.set(`${item.kind}/${item.itemId}`, item);
    }
    if (ctx.access.fhirUser?.startsWith('PractitionerRole/')) change.requester = ctx.access.fhirUser;
    ctx.repo.beforeCommit(`notify-change-of-needs ${key}`, (repo) => writeChangeTask(withRepo(ctx, repo), key));
  },
};
