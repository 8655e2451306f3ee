import type { CarePlan, Resource } from '@medplum/fhirtypes';
import { codeSystem, externalSystem, profileUrl } from '../canonical.ts';
import { assessedNeedResource } from '../mapping/assessed-needs.ts';
import { buildDocumentTransaction, type DocumentTransaction } from '../mapping/document-transaction.ts';
import { concept, containedProfessional, fullName } from '../mapping/fhir-elements.ts';
import { reviewDueDateExtension, waiverExtension } from '../mapping/plan-extensions.ts';
import { planContext, referencesOf, type PlanContext, type PlannedResource } from '../mapping/plan-context.ts';
import { medicaidIdentifier } from '../mapping/plan-person.ts';
import { planIdentifier, referenceTo } from '../mapping/plan-references.ts';
import { planNarrative } from '../narrative.ts';
import { distributionExtensions, planConsentResource, signaturesResource } from './consent-and-signatures.ts';
import { assessmentResources } from './functional-assessment.ts';
import { goalAndStepResources } from './goals-and-steps.ts';
import type { PcspDocument } from './pcsp-types.ts';
import { personCenteredObservations } from './person-centered-observations.ts';
import { patientResource } from './person.ts';
import { careTeamResource, iepResource } from './planning-team.ts';
import { backupPlanResource, rightsModificationConsents, rightsModificationExtension, riskResources } from './safety-and-rights.ts';
import { naturalSupportResources, serviceResources } from './services.ts';

/**
 * PCSP document → FHIR, following the eLTSS data element → FHIR path table (standards.md §1.4)
 * wherever eLTSS covers an element and the Kansas profiles (profiles/CATALOG.md) elsewhere. Each
 * section of the document has its own file here (person.ts, goals-and-steps.ts, services.ts, ...);
 * this one builds the KS PCSP CarePlan that references them all.
 */

function carePlanResource(ctx: PlanContext<PcspDocument>, items: readonly PlannedResource[]): CarePlan {
  const { doc } = ctx;
  const planner = containedProfessional('planner', doc.supportPlanner, doc.supportPlanner.role);
  return {
    resourceType: 'CarePlan',
    meta: { profile: [profileUrl.pcspCarePlan] },
    identifier: [planIdentifier(doc.planId)],
    text: { status: 'generated', div: planNarrative(doc) },
    contained: planner.contained,
    extension: [
      ...(doc.waiver ? [waiverExtension(doc.waiver)] : []),
      reviewDueDateExtension(doc.nextReviewDate),
      ...(doc.rightsModifications ?? []).map((m) => rightsModificationExtension(ctx, m)),
      ...distributionExtensions(doc),
    ],
    status: doc.status,
    intent: 'plan',
    category: [concept(codeSystem.planType, 'pcsp'), concept(externalSystem.usCoreCarePlanCategory, 'assess-plan')],
    title: `Person-Centered Support Plan for ${fullName(doc.person.name)}`,
    description: `Person-Centered Support Plan for ${fullName(doc.person.name)}, effective ${doc.effectivePeriod.start} to ${doc.effectivePeriod.end}.`,
    subject: ctx.patient,
    period: { ...doc.effectivePeriod },
    author: planner.reference,
    careTeam: referencesOf(items, ['CareTeam']),
    addresses: referencesOf(items, ['Condition']),
    supportingInfo: [
      ...referencesOf(items, ['Observation']),
      // eLTSS: QuestionnaireResponses are CarePlan.supportingInfo (standards.md §1.4).
      ...referencesOf(items, ['QuestionnaireResponse']),
      ...referencesOf(items, ['RiskAssessment']),
      ...referencesOf(items, ['Consent']),
      ...referencesOf(items, ['Contract']),
      ...referencesOf(items, ['CarePlan']),
      ...referencesOf(items, ['Task'], ['iep-participation']),
    ],
    goal: referencesOf(items, ['Goal']),
    activity: [...referencesOf(items, ['ServiceRequest']), ...referencesOf(items, ['Task'], ['step'])].map((reference) => ({ reference })),
  };
}

/** Every resource a PCSP document becomes, in a stable order. */
export function planPcspResources(doc: PcspDocument): PlannedResource[] {
  const ctx = planContext(doc, referenceTo(medicaidIdentifier(doc.person.medicaidId)));
  const items: PlannedResource[] = [
    ...doc.assessedNeeds.map((need, index) => assessedNeedResource(ctx, need, `/assessedNeeds/${index}`)),
    ...goalAndStepResources(ctx),
    ...serviceResources(ctx),
    ...naturalSupportResources(ctx),
    ...personCenteredObservations(ctx),
    ...assessmentResources(ctx),
    ...riskResources(ctx),
    backupPlanResource(ctx),
    planConsentResource(ctx),
    ...rightsModificationConsents(ctx),
    signaturesResource(ctx),
    careTeamResource(ctx),
    ...iepResource(ctx),
  ];
  const patient: PlannedResource = { resource: patientResource(doc), identifier: medicaidIdentifier(doc.person.medicaidId), pointer: '/person' };
  const plan: PlannedResource = { resource: carePlanResource(ctx, items), identifier: planIdentifier(doc.planId), pointer: '' };
  return [patient, plan, ...items];
}

/**
 * PCSP document → one transaction Bundle. `existing`: the stored resources of a previous import
 * of the same plan (their goals, services etc. that the document no longer lists are ended).
 */
export function mapPcspToBundle(doc: PcspDocument, existing: readonly Resource[] = []): DocumentTransaction {
  return buildDocumentTransaction(doc.planId, planPcspResources(doc), existing);
}
