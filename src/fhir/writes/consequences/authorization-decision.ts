import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import { decisionChanged, decisionOf, decisionStatus, decisionSummary } from '../../../workflow/authorization-decisions.ts';
import { profile, system } from '../../../workflow/kansas-workflow.ts';
import { writeResource } from '../write-path.ts';
import { serverWriting, type WriteConsequence } from '../write-consequence.ts';
import { caseManagerOf, readReference } from './care-coordinator.ts';

/**
 * issue 16 "Service authorization": when the MCO writes a decision — a new KS Authorized Service, or
 * a changed decision, units, period, status or number — the person's targeted case manager gets an
 * `authorization-decision` Task in the same transaction: focus the authorization version, basedOn
 * the planned service, businessStatus the decision (shared/standards.md §4) and a one-line summary
 * with the reason in `input`. An unchanged re-write creates nothing.
 */
export const authorizationDecisionConsequence: WriteConsequence = {
  name: 'authorization-decision Task for the TCM',
  resourceTypes: new Set(['ServiceRequest']),
  async follow(written, ctx) {
    if (!decisionChanged(written.previous, written.next)) return;
    const authorization = written.next;
    const patient = authorization.subject?.reference;
    if (!patient?.startsWith('Patient/')) return;
    const plannedReference = authorization.basedOn?.find((b) => b.reference?.startsWith('ServiceRequest/'))?.reference;
    const planned = await readReference<ServiceRequest>(ctx, plannedReference);
    const { decision } = decisionOf(authorization);
    const owner = await caseManagerOf(ctx, patient);
    const writer = ctx.access.fhirUser;
    const task: Task = {
      resourceType: 'Task',
      meta: { profile: [profile.workflowTask] },
      status: 'requested',
      intent: 'order',
      priority: decision === 'approved' ? 'routine' : 'urgent',
      code: { coding: [{ system: system.taskType, code: 'authorization-decision', display: 'Service authorization decision' }] },
      businessStatus: decisionStatus(decision),
      description: decisionSummary(authorization, planned),
      focus: { reference: `ServiceRequest/${written.id}/_history/${authorization.meta?.versionId}` },
      ...(plannedReference ? { basedOn: [{ reference: plannedReference }] } : {}),
      for: { reference: patient },
      authoredOn: new Date().toISOString(),
      requester: writer?.startsWith('PractitionerRole/') || writer?.startsWith('Organization/') ? { reference: writer } : (authorization.requester ?? { display: 'KanCare MCO' }),
      ...(owner ? { owner } : {}),
      input: [{ type: { text: 'decision-summary' }, valueString: decisionSummary(authorization, planned) }],
    };
    await writeResource(serverWriting(ctx), { interaction: 'create', resource: task });
  },
};
