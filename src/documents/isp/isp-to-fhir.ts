import type { CarePlan, Flag, MedicationStatement, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { codeSystem, extensionUrl, externalSystem, identifierSystem, mcoDisplay, profileUrl } from '../canonical.ts';
import { assessedNeedResource } from '../mapping/assessed-needs.ts';
import { buildDocumentTransaction, type DocumentTransaction } from '../mapping/document-transaction.ts';
import { concept, confirmedCondition, containedProfessional, fullName, planElementRequest, planObservation, providerPerformer } from '../mapping/fhir-elements.ts';
import { mcoExtension, reviewDueDateExtension, waiverExtension } from '../mapping/plan-extensions.ts';
import { planContext, referencesOf, type PlanContext, type PlannedResource } from '../mapping/plan-context.ts';
import { goalResource, pertainsToGoals } from '../mapping/plan-goals.ts';
import { medicaidIdentifier } from '../mapping/plan-person.ts';
import { conditionalReference, planIdentifier } from '../mapping/plan-references.ts';
import { planNarrative } from '../narrative.ts';
import type { AuthorizedService, IspDocument } from './isp-types.ts';

/**
 * ISP document → FHIR: a KS ISP CarePlan `basedOn` the PCSP (and BSP), KS Authorized Services
 * (the ISP "authorizes the services", domain.md §3a) and the primary care case management items
 * only the MCO care coordinator does (seed 001).
 */

function authorizedServiceResource(ctx: PlanContext<IspDocument>, service: AuthorizedService, index: number): PlannedResource {
  const { doc } = ctx;
  const identifier = ctx.item('authorized-service', service.id);
  const resource: ServiceRequest = {
    resourceType: 'ServiceRequest',
    meta: { profile: [profileUrl.authorizedService] },
    identifier: [
      identifier,
      { type: concept(codeSystem.identifierType, 'authorization-number'), system: identifierSystem.authorizationNumber, value: service.authorizationNumber },
    ],
    extension: [
      mcoExtension(doc.mco),
      waiverExtension(doc.waiver),
      ...pertainsToGoals(ctx, service.goals),
    ],
    basedOn: [ctx.plan],
    status: doc.status,
    intent: 'order',
    code: { coding: [{ system: externalSystem.hcpcs, code: service.serviceCode }], text: service.name },
    quantityQuantity: { value: service.units.quantity, unit: service.units.unit, system: codeSystem.serviceUnit, code: service.units.unit },
    subject: ctx.patient,
    occurrencePeriod: { ...service.authorizedPeriod },
    requester: { type: 'Organization', display: mcoDisplay[doc.mco] },
    performer: [providerPerformer(service.provider)],
  };
  return { resource, identifier, pointer: `/authorizedServices/${index}` };
}

function nonMedicaidResources(ctx: PlanContext<IspDocument>): PlannedResource[] {
  return (ctx.doc.nonMedicaidResources ?? []).map((item, index) => {
    const identifier = ctx.item('non-medicaid-resource', item.id);
    const resource: ServiceRequest = {
      resourceType: 'ServiceRequest',
      identifier: [identifier],
      ...planElementRequest(ctx, 'non-medicaid-resource', item.description),
      performer: [{ display: item.source }],
    };
    return { resource, identifier, pointer: `/nonMedicaidResources/${index}` };
  });
}

function primaryCareResources(ctx: PlanContext<IspDocument>): PlannedResource[] {
  const { primaryCare } = ctx.doc;
  const conditions = primaryCare.conditions.map((condition, index): PlannedResource => {
    const identifier = ctx.item('condition', condition.id);
    const resource = confirmedCondition({
      identifier,
      category: [concept(externalSystem.conditionCategory, 'problem-list-item')],
      code: { ...(condition.icd10 ? { coding: [{ system: externalSystem.icd10cm, code: condition.icd10 }] } : {}), text: condition.description },
      subject: ctx.patient,
    });
    return { resource, identifier, pointer: `/primaryCare/conditions/${index}` };
  });
  const medications = (primaryCare.medications ?? []).map((medication, index): PlannedResource => {
    const identifier = ctx.item('medication', medication.id);
    const resource: MedicationStatement = {
      resourceType: 'MedicationStatement',
      identifier: [identifier],
      status: 'active',
      medicationCodeableConcept: { text: medication.name },
      subject: ctx.patient,
      ...(medication.dosage ? { dosage: [{ text: medication.dosage }] } : {}),
    };
    return { resource, identifier, pointer: `/primaryCare/medications/${index}` };
  });
  const transitions = (primaryCare.transitions ?? []).map((transition, index): PlannedResource => {
    const identifier = ctx.item('transition', transition.id);
    // Seed 001 PCCM: "monitoring emergency and inpatient admissions to ensure appropriate transitions".
    const resource: Task = {
      resourceType: 'Task',
      meta: { profile: [profileUrl.workflowTask] },
      identifier: [identifier],
      extension: [{ url: extensionUrl.activityCategory, valueCodeableConcept: concept(codeSystem.careCoordinationCategory, 'primary-care-case-management') }],
      basedOn: [ctx.plan],
      status: transition.followUpStatus,
      intent: 'order',
      code: concept(codeSystem.taskType, 'transition-follow-up'),
      description: transition.followUp,
      for: ctx.patient,
      authoredOn: transition.date,
      requester: { display: ctx.doc.careCoordinator.name },
      input: [
        { type: concept(codeSystem.planElement, 'transition-type'), valueCode: transition.type },
        { type: concept(codeSystem.planElement, 'transition-facility'), valueString: transition.facility },
      ],
    };
    return { resource, identifier, pointer: `/primaryCare/transitions/${index}` };
  });
  const flags = (primaryCare.highRiskFlags ?? []).map((flag, index): PlannedResource => {
    const identifier = ctx.item('high-risk-flag', flag);
    const resource: Flag = { resourceType: 'Flag', identifier: [identifier], status: 'active', code: concept(codeSystem.planElement, `high-risk-${flag}`), subject: ctx.patient };
    return { resource, identifier, pointer: `/primaryCare/highRiskFlags/${index}` };
  });
  return [...conditions, ...medications, ...transitions, ...flags];
}

function assessmentResource(ctx: PlanContext<IspDocument>): PlannedResource {
  const identifier = ctx.item('observation', 'health-needs-assessment');
  return {
    identifier,
    pointer: '/healthNeedsAssessment',
    resource: planObservation({
      identifier,
      code: 'health-needs-assessment',
      subject: ctx.patient,
      components: [],
      effectiveDate: ctx.doc.healthNeedsAssessment.date,
      value: ctx.doc.healthNeedsAssessment.summary,
    }),
  };
}

function carePlanResource(ctx: PlanContext<IspDocument>, items: readonly PlannedResource[]): CarePlan {
  const { doc } = ctx;
  const coordinator = containedProfessional('coordinator', doc.careCoordinator, 'mco-care-coordinator');
  const tcm = doc.targetedCaseManager ? containedProfessional('tcm', doc.targetedCaseManager, 'targeted-case-manager') : undefined;
  return {
    resourceType: 'CarePlan',
    meta: { profile: [profileUrl.ispCarePlan] },
    identifier: [planIdentifier(doc.planId)],
    text: { status: 'generated', div: planNarrative(doc) },
    contained: [...coordinator.contained, ...(tcm?.contained ?? [])],
    extension: [
      mcoExtension(doc.mco),
      waiverExtension(doc.waiver),
      reviewDueDateExtension(doc.nextReviewDate),
    ],
    status: doc.status,
    intent: 'plan',
    category: [concept(codeSystem.planType, 'isp'), concept(externalSystem.usCoreCarePlanCategory, 'assess-plan')],
    title: `Integrated Service Plan for ${fullName(doc.person.name)}`,
    description: `Integrated Service Plan for ${fullName(doc.person.name)} from ${mcoDisplay[doc.mco]}.`,
    subject: ctx.patient,
    period: { ...doc.effectivePeriod },
    basedOn: [
      conditionalReference('CarePlan', planIdentifier(doc.pcspPlanId)),
      ...(doc.bspPlanId ? [conditionalReference('CarePlan', planIdentifier(doc.bspPlanId))] : []),
    ],
    author: coordinator.reference,
    ...(tcm ? { contributor: [tcm.reference] } : {}),
    addresses: referencesOf(items, ['Condition'], ['need']),
    goal: referencesOf(items, ['Goal']),
    supportingInfo: referencesOf(items, ['Observation', 'Condition', 'MedicationStatement', 'Task', 'Flag'], ['observation', 'condition', 'medication', 'transition', 'high-risk-flag']),
    activity: referencesOf(items, ['ServiceRequest']).map((reference) => ({ reference })),
  };
}

export function planIspResources(doc: IspDocument): PlannedResource[] {
  const ctx = planContext(doc, conditionalReference('Patient', medicaidIdentifier(doc.person.medicaidId)));
  const items = [
    ...doc.needs.map((need, index) => assessedNeedResource(ctx, { id: need.id, description: need.description, domain: need.category }, `/needs/${index}`)),
    ...doc.goals.map((goal, index) => goalResource(ctx, goal, `/goals/${index}`)),
    ...doc.authorizedServices.map((s, i) => authorizedServiceResource(ctx, s, i)),
    ...nonMedicaidResources(ctx),
    assessmentResource(ctx),
    ...primaryCareResources(ctx),
  ];
  return [{ resource: carePlanResource(ctx, items), identifier: planIdentifier(doc.planId), pointer: '' }, ...items];
}

/** ISP document → one transaction Bundle (see mapPcspToBundle for `existing`). */
export function mapIspToBundle(doc: IspDocument, existing: readonly Resource[] = []): DocumentTransaction {
  return buildDocumentTransaction(doc.planId, planIspResources(doc), existing);
}
