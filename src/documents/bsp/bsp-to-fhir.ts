import type { CarePlan, Condition, Extension, MedicationRequest, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { codeSystem, consentPolicy, extensionUrl, externalSystem, medicationRequestStatusForPlan, profileUrl } from '../canonical.ts';
import { buildDocumentTransaction, type DocumentTransaction } from '../mapping/document-transaction.ts';
import { concept, confirmedCondition, containedProfessional, fullName, informedConsentResource, planComponent, planElementRequest, planObservation } from '../mapping/fhir-elements.ts';
import { reviewDueDateExtension, waiverExtension } from '../mapping/plan-extensions.ts';
import { planContext, referencesOf, type PlanContext, type PlannedResource } from '../mapping/plan-context.ts';
import { medicaidIdentifier } from '../mapping/plan-person.ts';
import { conditionalReference, planIdentifier, referenceTo, type PlanReference } from '../mapping/plan-references.ts';
import { planNarrative } from '../narrative.ts';
import type { BspDocument, RestrictiveIntervention } from './bsp-types.ts';

/**
 * BSP document → FHIR: a KS BSP CarePlan that is `partOf` the PCSP, with the safeguards of
 * K.A.R. 30-63-23(b)(1) for each restrictive intervention (KS Restrictive Intervention
 * extension + KS Informed Consent). The Patient and the PCSP are found by conditional reference:
 * the PCSP (which owns the demographics) must be imported first.
 */

function behaviorResources(ctx: PlanContext<BspDocument>): PlannedResource[] {
  return ctx.doc.targetBehaviors.map((behavior, index) => {
    const identifier = ctx.item('target-behavior', behavior.id);
    const resource: Condition = {
      ...confirmedCondition({
        identifier,
        category: [concept(externalSystem.usCoreConditionCategory, 'health-concern'), concept(codeSystem.planElement, 'target-behavior')],
        code: { text: behavior.name },
        subject: ctx.patient,
      }),
      // The operational definition says exactly what counts as the behavior (what staff record).
      note: [{ text: behavior.operationalDefinition }],
    };
    return { resource, identifier, pointer: `/targetBehaviors/${index}` };
  });
}

function behaviorReferences(ctx: PlanContext<BspDocument>, ids: readonly string[]): PlanReference[] {
  return ids.map((id) => referenceTo(ctx.item('target-behavior', id)));
}

function positiveSupportResources(ctx: PlanContext<BspDocument>): PlannedResource[] {
  return ctx.doc.positiveSupports.map((support, index) => {
    const identifier = ctx.item('positive-support', support.id);
    const resource: ServiceRequest = {
      resourceType: 'ServiceRequest',
      identifier: [identifier],
      ...planElementRequest(ctx, 'positive-behavior-support', support.description),
      reasonReference: behaviorReferences(ctx, support.behaviors),
    };
    return { resource, identifier, pointer: `/positiveSupports/${index}` };
  });
}

function observationResources(ctx: PlanContext<BspDocument>): PlannedResource[] {
  const { doc } = ctx;
  const fbaIdentifier = ctx.item('observation', 'functional-behavior-assessment');
  const contextIdentifier = ctx.item('observation', 'behavior-support-context');
  const dataIdentifier = ctx.item('observation', 'behavior-data-collection');
  return [
    {
      identifier: fbaIdentifier,
      pointer: '/functionalAssessmentSummary',
      resource: planObservation({
        identifier: fbaIdentifier,
        code: 'functional-behavior-assessment',
        subject: ctx.patient,
        components: [],
        effectiveDate: doc.functionalAssessmentSummary.date,
        value: doc.functionalAssessmentSummary.summary,
      }),
    },
    {
      identifier: contextIdentifier,
      pointer: '/environmentalAccommodations',
      // K.A.R. 30-63-23(b)(1)(A)-(B): accommodations present, less restrictive alternatives tried.
      resource: planObservation({
        identifier: contextIdentifier,
        code: 'behavior-support-context',
        subject: ctx.patient,
        components: [
          ...doc.environmentalAccommodations.map((a) => planComponent('environmental-accommodation', a)),
          ...doc.lessRestrictiveAlternativesTried.map((a) => planComponent('less-restrictive-alternative', a)),
        ],
      }),
    },
    {
      identifier: dataIdentifier,
      pointer: '/dataCollection',
      // 42 CFR 441.301(c)(4)(vi)(F)(5): regular collection and review of data.
      resource: planObservation({
        identifier: dataIdentifier,
        code: 'behavior-data-collection',
        subject: ctx.patient,
        components: [
          planComponent('data-collection-method', doc.dataCollection.method),
          planComponent('data-collection-frequency', doc.dataCollection.frequency),
          planComponent('data-collection-responsible', doc.dataCollection.responsible),
        ],
      }),
    },
  ];
}

function consentResources(ctx: PlanContext<BspDocument>): PlannedResource[] {
  const interventions = (ctx.doc.restrictiveInterventions ?? []).map((intervention, index): PlannedResource => {
    const identifier = ctx.item('restrictive-intervention-consent', intervention.id);
    return {
      identifier,
      pointer: `/restrictiveInterventions/${index}/informedConsent`,
      resource: informedConsentResource({ policy: consentPolicy.restrictiveIntervention, identifier, consent: intervention.informedConsent, patient: ctx.patient, about: [ctx.plan] }),
    };
  });
  return interventions;
}

/** K.A.R. 30-63-23(b)(1)(D): no PRN medication without the express consent of the person or guardian. */
function prnResources(ctx: PlanContext<BspDocument>): PlannedResource[] {
  return (ctx.doc.prnMedications ?? []).flatMap((prn, index): PlannedResource[] => {
    const identifier = ctx.item('prn-medication', prn.id);
    const consentIdentifier = ctx.item('prn-consent', prn.id);
    const request: MedicationRequest = {
      resourceType: 'MedicationRequest',
      identifier: [identifier],
      status: medicationRequestStatusForPlan[ctx.doc.status],
      intent: 'plan',
      category: [concept(codeSystem.planElement, 'prn-medication')],
      medicationCodeableConcept: { text: prn.medication },
      subject: ctx.patient,
      requester: { display: prn.prescriber },
      basedOn: [ctx.plan],
      dosageInstruction: [{ asNeededCodeableConcept: { text: prn.indication } }],
    };
    return [
      { resource: request, identifier, pointer: `/prnMedications/${index}` },
      {
        identifier: consentIdentifier,
        pointer: `/prnMedications/${index}/consent`,
        resource: informedConsentResource({ policy: consentPolicy.restrictiveIntervention, identifier: consentIdentifier, consent: prn.consent, patient: ctx.patient, about: [referenceTo(identifier)] }),
      },
    ];
  });
}

function restrictiveInterventionExtension(ctx: PlanContext<BspDocument>, intervention: RestrictiveIntervention): Extension {
  const { doc } = ctx;
  const supports = doc.positiveSupports.filter((s) => s.behaviors.some((b) => intervention.behaviors.includes(b)));
  return {
    url: extensionUrl.restrictiveIntervention,
    extension: [
      { url: 'description', valueString: intervention.description },
      { url: 'interventionType', valueCode: intervention.type },
      ...behaviorReferences(ctx, intervention.behaviors).map((valueReference) => ({ url: 'targetBehavior', valueReference })),
      { url: 'risksBenefitsReviewed', valueString: intervention.risksBenefitsSideEffectsReviewed },
      // The extension requires these per intervention (K.A.R. 30-63-23(b)(1)(A)-(B)); the document
      // states them once for the whole BSP, so each intervention repeats the plan's lists.
      ...doc.lessRestrictiveAlternativesTried.map((valueString) => ({ url: 'lessRestrictiveAlternativesTried', valueString })),
      ...supports.map((s) => ({ url: 'positiveBehaviorSupports', valueString: s.description })),
      { url: 'consent', valueReference: referenceTo(ctx.item('restrictive-intervention-consent', intervention.id)) },
      { url: 'committeeApprovalDate', valueDate: intervention.committeeApproval.date },
      { url: 'committee', valueReference: { type: 'Organization', display: intervention.committeeApproval.committee } },
      { url: 'reviewDate', valueDate: intervention.reviewBy },
    ],
  };
}

function carePlanResource(ctx: PlanContext<BspDocument>, items: readonly PlannedResource[]): CarePlan {
  const { doc } = ctx;
  const author = containedProfessional('author', doc.author, 'behavior-specialist');
  return {
    resourceType: 'CarePlan',
    meta: { profile: [profileUrl.bspCarePlan] },
    identifier: [planIdentifier(doc.planId)],
    text: { status: 'generated', div: planNarrative(doc) },
    contained: author.contained,
    extension: [
      waiverExtension(doc.waiver),
      reviewDueDateExtension(doc.nextReviewDate),
      ...(doc.restrictiveInterventions ?? []).map((r) => restrictiveInterventionExtension(ctx, r)),
    ],
    status: doc.status,
    intent: 'plan',
    category: [concept(codeSystem.planType, 'bsp'), concept(externalSystem.usCoreCarePlanCategory, 'assess-plan')],
    title: `Behavior Support Plan for ${fullName(doc.person.name)}`,
    description: `Behavior Support Plan for ${fullName(doc.person.name)}, part of ${doc.pcspPlanId}.`,
    subject: ctx.patient,
    period: { ...doc.effectivePeriod },
    partOf: [conditionalReference('CarePlan', planIdentifier(doc.pcspPlanId))],
    author: author.reference,
    addresses: referencesOf(items, ['Condition']),
    supportingInfo: [...referencesOf(items, ['Observation']), ...referencesOf(items, ['Consent'])],
    activity: [...referencesOf(items, ['ServiceRequest']), ...referencesOf(items, ['MedicationRequest'])].map((reference) => ({ reference })),
  };
}

export function planBspResources(doc: BspDocument): PlannedResource[] {
  const ctx = planContext(doc, conditionalReference('Patient', medicaidIdentifier(doc.person.medicaidId)));
  const items = [...behaviorResources(ctx), ...positiveSupportResources(ctx), ...observationResources(ctx), ...consentResources(ctx), ...prnResources(ctx)];
  return [{ resource: carePlanResource(ctx, items), identifier: planIdentifier(doc.planId), pointer: '' }, ...items];
}

/** BSP document → one transaction Bundle (see mapPcspToBundle for `existing`). */
export function mapBspToBundle(doc: BspDocument, existing: readonly Resource[] = []): DocumentTransaction {
  return buildDocumentTransaction(doc.planId, planBspResources(doc), existing);
}
