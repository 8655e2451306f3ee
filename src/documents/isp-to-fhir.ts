import type { CarePlan, Condition, Flag, Goal, Identifier, MedicationStatement, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { codeSystem, extensionUrl, goalLifecycleForPlan, externalSystem, identifierSystem, mcoDisplay, planItemValue, profileUrl, type PlanItemKind } from './canonical.ts';
import { concept, containedProfessional, fullName, planObservation } from './fhir-elements.ts';
import { planNarrative } from './narrative.ts';
import { medicaidIdentifier } from './pcsp-to-fhir.ts';
import {
  buildDocumentTransaction,
  conditionalReference,
  planIdentifier,
  planItemIdentifier,
  referenceTo,
  type DocumentTransaction,
  type PlannedResource,
  type PlanReference,
} from './plan-bundle.ts';
import type { AuthorizedService, IspDocument } from './types.ts';

/**
 * ISP document → FHIR: a KS ISP CarePlan `basedOn` the PCSP (and BSP), KS Authorized Services
 * (the ISP "authorizes the services", domain.md §3a) and the primary care case management items
 * only the MCO care coordinator does (seed 001).
 */

interface IspContext {
  readonly doc: IspDocument;
  readonly patient: PlanReference;
  readonly plan: PlanReference;
  item(kind: PlanItemKind, id: string): Identifier;
}

function contextFor(doc: IspDocument): IspContext {
  return {
    doc,
    patient: conditionalReference('Patient', medicaidIdentifier(doc.person.medicaidId)),
    plan: referenceTo(planIdentifier(doc.planId)),
    item: (kind, id) => planItemIdentifier(planItemValue(doc.planId, kind, id)),
  };
}

function needResources(ctx: IspContext): PlannedResource[] {
  return ctx.doc.needs.map((need, index) => {
    const identifier = ctx.item('need', need.id);
    const resource: Condition = {
      resourceType: 'Condition',
      identifier: [identifier],
      clinicalStatus: concept(externalSystem.conditionClinical, 'active'),
      verificationStatus: concept(externalSystem.conditionVerification, 'confirmed'),
      category: [
        concept(externalSystem.usCoreConditionCategory, 'health-concern'),
        concept(externalSystem.eltssConditionCategory, 'assessed-need'),
        concept(codeSystem.needDomain, need.category),
      ],
      code: { text: need.description },
      subject: ctx.patient,
    };
    return { resource, identifier, pointer: `/needs/${index}` };
  });
}

function goalResources(ctx: IspContext): PlannedResource[] {
  return ctx.doc.goals.map((goal, index) => {
    const identifier = ctx.item('goal', goal.id);
    const resource: Goal = {
      resourceType: 'Goal',
      meta: { profile: [profileUrl.goal] },
      identifier: [identifier],
      lifecycleStatus: goalLifecycleForPlan[ctx.doc.status],
      description: { text: goal.description },
      subject: ctx.patient,
      addresses: goal.addressesNeeds.map((id) => referenceTo(ctx.item('need', id))),
      ...(goal.targetDate ? { target: [{ dueDate: goal.targetDate }] } : {}),
    };
    return { resource, identifier, pointer: `/goals/${index}` };
  });
}

function authorizedServiceResource(ctx: IspContext, service: AuthorizedService, index: number): PlannedResource {
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
      { url: extensionUrl.mco, valueCodeableConcept: concept(codeSystem.mco, doc.mco) },
      { url: extensionUrl.waiverProgram, valueCodeableConcept: concept(codeSystem.waiverProgram, doc.waiver) },
      ...service.goals.map((id) => ({ url: extensionUrl.pertainsToGoal, valueReference: referenceTo(ctx.item('goal', id)) })),
    ],
    basedOn: [ctx.plan],
    status: doc.status,
    intent: 'order',
    code: { coding: [{ system: externalSystem.hcpcs, code: service.serviceCode }], text: service.name },
    quantityQuantity: { value: service.units.quantity, unit: service.units.unit, system: codeSystem.serviceUnit, code: service.units.unit },
    subject: ctx.patient,
    occurrencePeriod: { ...service.authorizedPeriod },
    requester: { type: 'Organization', display: mcoDisplay[doc.mco] },
    performer: [
      { display: service.provider.name, ...(service.provider.kmmsId ? { identifier: { system: identifierSystem.kmmsId, value: service.provider.kmmsId } } : {}) },
    ],
  };
  return { resource, identifier, pointer: `/authorizedServices/${index}` };
}

function nonMedicaidResources(ctx: IspContext): PlannedResource[] {
  return (ctx.doc.nonMedicaidResources ?? []).map((item, index) => {
    const identifier = ctx.item('non-medicaid-resource', item.id);
    const resource: ServiceRequest = {
      resourceType: 'ServiceRequest',
      identifier: [identifier],
      basedOn: [ctx.plan],
      status: ctx.doc.status,
      intent: 'plan',
      category: [concept(codeSystem.planElement, 'non-medicaid-resource')],
      code: { text: item.description },
      subject: ctx.patient,
      performer: [{ display: item.source }],
    };
    return { resource, identifier, pointer: `/nonMedicaidResources/${index}` };
  });
}

function primaryCareResources(ctx: IspContext): PlannedResource[] {
  const { primaryCare } = ctx.doc;
  const conditions = primaryCare.conditions.map((condition, index): PlannedResource => {
    const identifier = ctx.item('condition', condition.id);
    const resource: Condition = {
      resourceType: 'Condition',
      identifier: [identifier],
      clinicalStatus: concept(externalSystem.conditionClinical, 'active'),
      verificationStatus: concept(externalSystem.conditionVerification, 'confirmed'),
      category: [concept(externalSystem.conditionCategory, 'problem-list-item')],
      code: { ...(condition.icd10 ? { coding: [{ system: externalSystem.icd10cm, code: condition.icd10 }] } : {}), text: condition.description },
      subject: ctx.patient,
    };
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

function assessmentResource(ctx: IspContext): PlannedResource {
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

function referencesOf(planned: readonly PlannedResource[], types: readonly string[], kinds?: readonly PlanItemKind[]): PlanReference[] {
  return planned
    .filter((p) => types.includes(p.resource.resourceType) && (!kinds || kinds.some((k) => p.identifier.value?.includes(`/${k}/`))))
    .map((p) => referenceTo(p.identifier));
}

function carePlanResource(ctx: IspContext, items: readonly PlannedResource[]): CarePlan {
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
      { url: extensionUrl.mco, valueCodeableConcept: concept(codeSystem.mco, doc.mco) },
      { url: extensionUrl.waiverProgram, valueCodeableConcept: concept(codeSystem.waiverProgram, doc.waiver) },
      { url: extensionUrl.reviewDueDate, valueDate: doc.nextReviewDate },
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
  const ctx = contextFor(doc);
  const items = [
    ...needResources(ctx),
    ...goalResources(ctx),
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
