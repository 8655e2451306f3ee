import type { CarePlan, CareTeam, Condition, Contract, Goal, Observation, Patient, Resource, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import { extensionUrl, profileUrl } from '../canonical.ts';
import { assessedNeedFrom } from '../mapping/assessed-needs.ts';
import { extensionsOf } from '../mapping/fhir-elements.ts';
import { compact, nonEmpty } from '../mapping/optional-fields.ts';
import { nextReviewDateOf, waiverOf } from '../mapping/plan-extensions.ts';
import { StoredResources, effectivePeriodOf, itemKindOf, ofKind, requireValue, storedPlanId } from '../mapping/stored-plan.ts';
import { distributionFrom, planConsentFrom, signaturesFrom } from './consent-and-signatures.ts';
import { assessmentFrom } from './functional-assessment.ts';
import { goalFrom } from './goals-and-steps.ts';
import type { AssessedNeed, PcspDocument } from './pcsp-types.ts';
import { personCenteredPartsFrom } from './person-centered-observations.ts';
import { decisionMakerFrom, personFrom } from './person.ts';
import { careTeamParts, iepParticipationFrom, supportPlannerFrom } from './planning-team.ts';
import { rightsModificationFrom, riskFrom } from './safety-and-rights.ts';
import { naturalSupportFrom, serviceFrom } from './services.ts';

/**
 * Stored resources → the PCSP document they were imported from: the exact inverse of
 * pcsp-to-fhir.ts, so that document → server → document is deep-equal. Each section's reader sits
 * beside its writer (person.ts, goals-and-steps.ts, services.ts, ...).
 */

/** Stored resources of a PCSP (the CarePlan, its Patient and everything it references) → the document. */
export function mapResourcesToPcsp(resources: readonly Resource[], planId?: string): PcspDocument {
  const stored = new StoredResources(resources);
  const plan = stored.carePlan(planId, profileUrl.pcspCarePlan);
  const patient = requireValue(stored.resolve<Patient>(plan.subject), 'the Patient');
  const supporting = stored.resolveAll<Resource>(plan.supportingInfo);
  const activities = stored.resolveAll<Resource>((plan.activity ?? []).map((a) => a.reference));
  const observations = supporting.filter((r): r is Observation => r.resourceType === 'Observation');
  const backup = requireValue(ofKind<CarePlan>(supporting, 'CarePlan', 'backup-plan')[0], 'the backup plan');
  const { participants, monitor } = careTeamParts(stored.resolve<CareTeam>(plan.careTeam?.[0]));
  const steps = ofKind<Task>(activities, 'Task', 'step');
  return compact({
    documentType: 'pcsp' as const,
    schemaVersion: '1.0' as const,
    planId: storedPlanId(plan),
    status: plan.status as PcspDocument['status'],
    waiver: waiverOf(plan.extension) as PcspDocument['waiver'],
    person: personFrom(patient),
    decisionMaker: decisionMakerFrom(patient),
    supportPlanner: supportPlannerFrom(plan),
    effectivePeriod: effectivePeriodOf(plan),
    nextReviewDate: nextReviewDateOf(plan),
    ...personCenteredPartsFrom(observations.filter((o) => itemKindOf(o) === 'observation')),
    functionalAssessment: assessmentFrom(observations.filter((o) => itemKindOf(o) === 'assessment')),
    assessedNeeds: stored.resolveAll<Condition>(plan.addresses).map((condition) => assessedNeedFrom(condition) as AssessedNeed),
    goals: stored.resolveAll<Goal>(plan.goal).map((goal) => goalFrom(goal, steps, stored)),
    services: ofKind<ServiceRequest>(activities, 'ServiceRequest', 'service').map((r) => serviceFrom(r, stored)),
    naturalSupports: nonEmpty(ofKind<ServiceRequest>(activities, 'ServiceRequest', 'natural-support').map((r) => naturalSupportFrom(r, stored))),
    risks: ofKind<RiskAssessment>(supporting, 'RiskAssessment', 'risk').map(riskFrom),
    backupPlan: requireValue(backup.description, 'the backup plan text'),
    rightsModifications: nonEmpty(extensionsOf(plan.extension, extensionUrl.rightsModification).map((e) => rightsModificationFrom(e, stored))),
    iepParticipation: iepParticipationFrom(ofKind<Task>(supporting, 'Task', 'iep-participation')[0]),
    monitor,
    participants,
    informedConsent: planConsentFrom(supporting),
    signatures: signaturesFrom(ofKind<Contract>(supporting, 'Contract', 'signatures')[0]),
    distribution: extensionsOf(plan.extension, extensionUrl.planDistribution).map(distributionFrom),
  });
}
