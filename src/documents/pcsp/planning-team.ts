import type { CarePlan, CareTeam, Task } from '@medplum/fhirtypes';
import { codeSystem, extensionUrl, profileUrl } from '../canonical.ts';
import { codeIn, concept, containedProfessional, professionalFrom, professionalRoleCode } from '../mapping/fhir-elements.ts';
import type { PlanContext, PlannedResource } from '../mapping/plan-context.ts';
import { StoredPlanError, requireValue } from '../mapping/stored-plan.ts';
import type { IepParticipation, Participant, PcspDocument, SupportPlanner } from './pcsp-types.ts';

/**
 * Who makes and watches the PCSP: the people who took part and the plan monitor ↔ a CareTeam,
 * the support planner ↔ the CarePlan's author (a contained KS PractitionerRole, pcsp-to-fhir.ts),
 * and the TCM's part in the school IEP ↔ a KS Workflow Task.
 */

/** People who took part in planning and the plan monitor (441.301(c)(1) and (c)(2)). */
export function careTeamResource(ctx: PlanContext<PcspDocument>): PlannedResource {
  const identifier = ctx.item('care-team', 'plan');
  const monitor = containedProfessional('monitor', ctx.doc.monitor, ctx.doc.supportPlanner.role);
  const resource: CareTeam = {
    resourceType: 'CareTeam',
    identifier: [identifier],
    contained: monitor.contained,
    status: 'active',
    subject: ctx.patient,
    participant: [
      ...ctx.doc.participants.map((p) => ({ role: [concept(codeSystem.participantRole, p.role)], member: { display: p.name } })),
      { role: [concept(codeSystem.participantRole, 'plan-monitor')], member: monitor.reference },
    ],
  };
  return { resource, identifier, pointer: '/participants' };
}

/** TCM participation in the IEP (seed 000: "not just attendance at meetings") → KS Workflow Task. */
export function iepResource(ctx: PlanContext<PcspDocument>): PlannedResource[] {
  const iep = ctx.doc.iepParticipation;
  if (!iep) {
    return [];
  }
  const identifier = ctx.item('iep-participation', 'iep');
  const resource: Task = {
    resourceType: 'Task',
    meta: { profile: [profileUrl.workflowTask] },
    identifier: [identifier],
    extension: [{ url: extensionUrl.activityCategory, valueCodeableConcept: concept(codeSystem.tcmActivityCategory, 'service-plan-development') }],
    basedOn: [ctx.plan],
    status: 'in-progress',
    intent: 'order',
    code: concept(codeSystem.taskType, 'iep-participation'),
    description: iep.caseManagerRole,
    for: ctx.patient,
    authoredOn: iep.iepMeetingDate,
    requester: { display: ctx.doc.supportPlanner.name },
    location: { display: iep.school },
  };
  return [{ resource, identifier, pointer: '/iepParticipation' }];
}

export function supportPlannerFrom(plan: CarePlan): SupportPlanner {
  const role = professionalRoleCode(plan, plan.author);
  if (role !== 'targeted-case-manager' && role !== 'mco-care-coordinator') {
    throw new StoredPlanError('The PCSP author has no targeted-case-manager or mco-care-coordinator role.');
  }
  return { ...professionalFrom(plan, plan.author), role };
}

export function careTeamParts(careTeam: CareTeam | undefined): { participants: Participant[]; monitor: PcspDocument['monitor'] } {
  const team = requireValue(careTeam, 'the care team');
  const isMonitor = (p: NonNullable<CareTeam['participant']>[number]): boolean => codeIn(p.role, codeSystem.participantRole) === 'plan-monitor';
  const monitorParticipant = requireValue(team.participant?.find(isMonitor), 'the plan monitor');
  return {
    participants: (team.participant ?? [])
      .filter((p) => !isMonitor(p))
      .map((p) => ({ name: requireValue(p.member?.display, 'a participant name'), role: codeIn(p.role, codeSystem.participantRole) as Participant['role'] })),
    monitor: professionalFrom(team, monitorParticipant.member),
  };
}

export function iepParticipationFrom(iep: Task | undefined): IepParticipation | undefined {
  return iep
    ? {
        school: requireValue(iep.location?.display, 'the school'),
        iepMeetingDate: requireValue(iep.authoredOn, 'the IEP meeting date').slice(0, 10),
        caseManagerRole: requireValue(iep.description, 'the case manager role in the IEP'),
      }
    : undefined;
}
