import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import { decisionChanged, decisionOf, decisionStatus, decisionSummary } from '../../../workflow/authorization-decisions.ts';
import { profile, system } from '../../../workflow/kansas-workflow.ts';
import type { Repository } from '../../../store/repository.ts';
import { type FhirContext, withRepo } from '../../context.ts';
import { writeResource } from '../write-path.ts';
import { serverWriting, type WriteConsequence } from '../write-consequence.ts';
import { caseManagerOf } from './care-coordinator.ts';

/** One decision written in the open transaction: the authorization version and who wrote it. */
interface WrittenDecision {
  readonly id: string;
  readonly authorization: ServiceRequest;
  readonly writer?: string;
}

/** Per open transaction (its repository), per person: the decisions waiting for their Tasks. */
const collected = new WeakMap<Repository, Map<string, WrittenDecision[]>>();

function plannedReferenceOf(authorization: ServiceRequest): string | undefined {
  return authorization.basedOn?.find((b) => b.reference?.startsWith('ServiceRequest/'))?.reference;
}

function decisionTask(decision: WrittenDecision, patient: string, planned: ServiceRequest | undefined, owner: Task['owner']): Task {
  const { authorization, writer } = decision;
  const verdict = decisionOf(authorization).decision;
  const plannedReference = plannedReferenceOf(authorization);
  return {
    resourceType: 'Task',
    meta: { profile: [profile.workflowTask] },
    status: 'requested',
    intent: 'order',
    priority: verdict === 'approved' ? 'routine' : 'urgent',
    code: { coding: [{ system: system.taskType, code: 'authorization-decision', display: 'Service authorization decision' }] },
    businessStatus: decisionStatus(verdict),
    description: decisionSummary(authorization, planned),
    focus: { reference: `ServiceRequest/${decision.id}/_history/${authorization.meta?.versionId}` },
    ...(plannedReference ? { basedOn: [{ reference: plannedReference }] } : {}),
    for: { reference: patient },
    authoredOn: new Date().toISOString(),
    requester: writer?.startsWith('PractitionerRole/') || writer?.startsWith('Organization/') ? { reference: writer } : (authorization.requester ?? { display: 'KanCare MCO' }),
    ...(owner ? { owner } : {}),
    input: [{ type: { text: 'decision-summary' }, valueString: decisionSummary(authorization, planned) }],
  };
}

/**
 * The person's decision Tasks of this transaction, before it commits: the TCM is looked up once
 * and the planned services read in one statement, however many services an ISP authorizes.
 */
async function writeDecisionTasks(ctx: FhirContext, patient: string): Promise<void> {
  const decisions = collected.get(ctx.repo)?.get(patient) ?? [];
  collected.get(ctx.repo)?.delete(patient);
  if (decisions.length === 0) return;
  const owner = await caseManagerOf(ctx, patient);
  const plannedKeys = decisions
    .map((d) => /^ServiceRequest\/([A-Za-z0-9\-.]{1,64})$/.exec(plannedReferenceOf(d.authorization) ?? '')?.[1])
    .filter((id): id is string => id !== undefined)
    .map((id) => ({ resourceType: 'ServiceRequest', id }));
  const planned = new Map((await ctx.repo.readMany(plannedKeys)).map((r) => [`ServiceRequest/${r.id}`, r as ServiceRequest]));
  for (const decision of decisions) {
    const task = decisionTask(decision, patient, planned.get(plannedReferenceOf(decision.authorization) ?? ''), owner);
    await writeResource(serverWriting(ctx), { interaction: 'create', resource: task });
  }
}

/**
 * issue 16 "Service authorization": when the MCO writes a decision — a new KS Authorized Service, or
 * a changed decision, units, period, status or number — the person's targeted case manager gets an
 * `authorization-decision` Task in the same transaction: focus the authorization version, basedOn
 * the planned service, businessStatus the decision (shared/standards.md §4) and a one-line summary
 * with the reason in `input`. An unchanged re-write creates nothing. The Tasks are written when
 * the transaction's writes are done (`beforeCommit`), so an ISP import with several decisions
 * looks the TCM up once, as of everything the transaction wrote.
 */
export const authorizationDecisionConsequence: WriteConsequence = {
  name: 'authorization-decision Task for the TCM',
  resourceTypes: new Set(['ServiceRequest']),
  concernsCreated: (resource) => decisionChanged(undefined, resource),
  async follow(written, ctx) {
    if (!decisionChanged(written.previous, written.next)) return;
    const authorization = written.next;
    const patient = authorization.subject?.reference;
    if (!patient?.startsWith('Patient/')) return;
    let people = collected.get(ctx.repo);
    if (!people) collected.set(ctx.repo, (people = new Map()));
    const decisions = people.get(patient) ?? [];
    people.set(patient, [...decisions, { id: written.id, authorization, writer: ctx.access.fhirUser }]);
    ctx.repo.beforeCommit(`authorization-decision ${patient}`, (repo) => writeDecisionTasks(withRepo(ctx, repo), patient));
  },
};
