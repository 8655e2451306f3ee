import type {
  CarePlan,
  CareTeam,
  Condition,
  Contract,
  Extension,
  Goal,
  Identifier,
  Observation,
  Patient,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  Resource,
  RiskAssessment,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import {
  codeSystem,
  consentPolicy,
  consentSignatureCode,
  decisionMakerCodes,
  extensionUrl,
  externalSystem,
  goalLifecycleForPlan,
  hcbsServiceByHcpcs,
  identifierSystem,
  instrumentDisplay,
  intervalUcum,
  planItemValue,
  profileUrl,
  signerRoleCode,
  stepStatusForPlan,
  type PlanItemKind,
} from './canonical.ts';
import { questionnaireByInstrument } from './assessment-questionnaires.ts';
import { concept, containedProfessional, fullName, humanNameToFhir, informedConsentResource, planComponent, planObservation } from './fhir-elements.ts';
import { backupPlanNarrative, planNarrative } from './narrative.ts';
import { buildDocumentTransaction, planIdentifier, planItemIdentifier, referenceTo, type DocumentTransaction, type PlannedResource, type PlanReference } from './plan-bundle.ts';
import type { FunctionalAssessment, PaidService, PcspDocument, PlanGoal, RightsModification } from './types.ts';

/**
 * PCSP document → FHIR, following the eLTSS data element → FHIR path table (standards.md §1.4)
 * wherever eLTSS covers an element and the Kansas profiles (profiles/CATALOG.md) elsewhere.
 */

interface PcspContext {
  readonly doc: PcspDocument;
  readonly patient: PlanReference;
  readonly plan: PlanReference;
  item(kind: PlanItemKind, id: string): Identifier;
}

function contextFor(doc: PcspDocument): PcspContext {
  const item = (kind: PlanItemKind, id: string): Identifier => planItemIdentifier(planItemValue(doc.planId, kind, id));
  return {
    doc,
    patient: referenceTo(medicaidIdentifier(doc.person.medicaidId)),
    plan: referenceTo(planIdentifier(doc.planId)),
    item,
  };
}

export function medicaidIdentifier(medicaidId: string): Identifier {
  return { system: identifierSystem.medicaidId, value: medicaidId };
}

/** eLTSS Beneficiary Demographics → KS Patient; the guardian is a Patient.contact (CATALOG ks-patient). */
function patientResource(doc: PcspDocument): Patient {
  const { person, decisionMaker } = doc;
  const patient: Patient = {
    resourceType: 'Patient',
    meta: { profile: [profileUrl.patient] },
    identifier: [medicaidIdentifier(person.medicaidId)],
    active: true,
    name: [humanNameToFhir(person.name)],
    gender: person.gender,
    birthDate: person.birthDate,
  };
  if (person.phone) {
    patient.telecom = [{ system: 'phone', value: person.phone }];
  }
  if (person.address) {
    const { line, city, state, postalCode, county } = person.address;
    patient.address = [{ line: [...line], city, state, postalCode, ...(county ? { district: county } : {}) }];
  }
  if (person.preferredLanguage) {
    patient.communication = [{ language: concept('urn:ietf:bcp:47', person.preferredLanguage), preferred: true }];
  }
  if (decisionMaker) {
    const codes = decisionMakerCodes[decisionMaker.relationship];
    patient.contact = [
      {
        // One concept: the Kansas role, the exact v3 relationship, and v2-0131 "contact person"
        // so that the R4 contact-relationship binding is met too.
        relationship: [
          {
            coding: [
              { system: codeSystem.decisionMakerRole, code: codes.ksCode },
              { system: externalSystem.roleCode, code: codes.roleCode },
              { system: externalSystem.contactRole, code: 'CP' },
            ],
          },
        ],
        name: humanNameToFhir(decisionMaker.name),
        ...(decisionMaker.phone ? { telecom: [{ system: 'phone' as const, value: decisionMaker.phone }] } : {}),
      },
    ];
  }
  return patient;
}

function needResources(ctx: PcspContext): PlannedResource[] {
  return ctx.doc.assessedNeeds.map((need, index) => {
    const identifier = ctx.item('need', need.id);
    const condition: Condition = {
      resourceType: 'Condition',
      identifier: [identifier],
      clinicalStatus: concept(externalSystem.conditionClinical, 'active'),
      verificationStatus: concept(externalSystem.conditionVerification, 'confirmed'),
      // eLTSS Assessed Need: a Condition with category assessed-need (standards.md §1.4).
      category: [
        concept(externalSystem.usCoreConditionCategory, 'health-concern'),
        concept(externalSystem.eltssConditionCategory, 'assessed-need'),
        concept(codeSystem.needDomain, need.domain),
      ],
      code: { text: need.description },
      subject: ctx.patient,
    };
    return { resource: condition, identifier, pointer: `/assessedNeeds/${index}` };
  });
}

function goalResource(ctx: PcspContext, goal: PlanGoal, pointer: string): PlannedResource {
  const identifier = ctx.item('goal', goal.id);
  const resource: Goal = {
    resourceType: 'Goal',
    meta: { profile: [profileUrl.goal] },
    identifier: [identifier],
    lifecycleStatus: goalLifecycleForPlan[ctx.doc.status],
    description: { text: goal.description },
    subject: ctx.patient,
    addresses: goal.addressesNeeds.map((id) => referenceTo(ctx.item('need', id))),
  };
  if (goal.targetDate !== undefined || goal.desiredOutcome !== undefined) {
    // gol-1: a target detail needs a measure; the desired outcome is described in words, so the
    // measure is a text-only concept.
    resource.target = [
      {
        ...(goal.desiredOutcome ? { measure: { text: 'Desired outcome' }, detailString: goal.desiredOutcome } : {}),
        ...(goal.targetDate ? { dueDate: goal.targetDate } : {}),
      },
    ];
  }
  return { resource, identifier, pointer };
}

function pertainsToGoals(ctx: PcspContext, goalIds: readonly string[]): Extension[] {
  return goalIds.map((id) => ({ url: extensionUrl.pertainsToGoal, valueReference: referenceTo(ctx.item('goal', id)) }));
}

/** eLTSS Step or Action → Task linked to its Goal with pertainsToGoal (standards.md §1.4). */
function stepResources(ctx: PcspContext, goal: PlanGoal, goalIndex: number): PlannedResource[] {
  return (goal.steps ?? []).map((step, index) => {
    const identifier = ctx.item('step', step.id);
    const task: Task = {
      resourceType: 'Task',
      identifier: [identifier],
      extension: pertainsToGoals(ctx, [goal.id]),
      basedOn: [ctx.plan],
      status: stepStatusForPlan[ctx.doc.status],
      intent: 'plan',
      description: step.description,
      for: ctx.patient,
      owner: { display: step.responsible },
    };
    return { resource: task, identifier, pointer: `/goals/${goalIndex}/steps/${index}` };
  });
}

function serviceQuantity(service: PaidService): Pick<ServiceRequest, 'quantityQuantity' | 'quantityRatio'> {
  const amount = { value: service.amount.quantity, unit: service.amount.unit, system: codeSystem.serviceUnit, code: service.amount.unit };
  // eLTSS: "5 quarter hours weekly" is a Ratio (amount per 1 interval); a one-time amount is a Quantity; never both.
  return service.amount.per === undefined
    ? { quantityQuantity: amount }
    : { quantityRatio: { numerator: amount, denominator: { value: 1, unit: service.amount.per, system: externalSystem.ucum, code: intervalUcum[service.amount.per] } } };
}

/** eLTSS Service Information → KS Planned Service. */
function serviceResource(ctx: PcspContext, service: PaidService, pointer: string): PlannedResource {
  const identifier = ctx.item('service', service.id);
  const hcbs = hcbsServiceByHcpcs[service.serviceCode];
  const resource: ServiceRequest = {
    resourceType: 'ServiceRequest',
    meta: { profile: [profileUrl.plannedService] },
    identifier: [identifier],
    extension: [
      { url: extensionUrl.selfDirection, valueBoolean: service.selfDirected },
      // Also the eLTSS form, so eLTSS consumers see self-direction without the Kansas extension.
      ...(service.selfDirected ? [{ url: extensionUrl.eltssDirectedBy, valueCodeableConcept: { text: 'self' } }] : []),
      ...pertainsToGoals(ctx, service.goals),
      ...(ctx.doc.waiver ? [{ url: extensionUrl.waiverProgram, valueCodeableConcept: concept(codeSystem.waiverProgram, ctx.doc.waiver) }] : []),
    ],
    basedOn: [ctx.plan],
    status: ctx.doc.status,
    intent: 'plan',
    category: [concept(codeSystem.fundingSource, service.fundingSource)],
    code: {
      coding: [{ system: externalSystem.hcpcs, code: service.serviceCode }, ...(hcbs ? [{ system: codeSystem.hcbsService, code: hcbs }] : [])],
      text: service.name,
    },
    ...serviceQuantity(service),
    subject: ctx.patient,
    occurrencePeriod: { ...service.period },
    performer: [
      { display: service.provider.name, ...(service.provider.kmmsId ? { identifier: { system: identifierSystem.kmmsId, value: service.provider.kmmsId } } : {}) },
    ],
    ...(service.location ? { locationReference: [{ display: service.location }] } : {}),
    ...(service.comment ? { note: [{ text: service.comment }] } : {}),
  };
  return { resource, identifier, pointer };
}

/** Unpaid/natural supports (441.301(c)(2)); eLTSS Non-Paid Service Provider Relationship → RelatedPerson. */
function naturalSupportResources(ctx: PcspContext): PlannedResource[] {
  return (ctx.doc.naturalSupports ?? []).map((support, index) => {
    const identifier = ctx.item('natural-support', support.id);
    const resource: ServiceRequest = {
      resourceType: 'ServiceRequest',
      identifier: [identifier],
      contained: [
        {
          resourceType: 'RelatedPerson',
          id: 'supporter',
          meta: { profile: [profileUrl.relatedPerson] },
          active: true,
          patient: ctx.patient,
          relationship: [{ text: support.supporter.relationship }],
          name: [{ text: support.supporter.name }],
        },
      ],
      extension: pertainsToGoals(ctx, support.goals),
      basedOn: [ctx.plan],
      status: ctx.doc.status,
      intent: 'plan',
      category: [concept(codeSystem.planElement, 'natural-support')],
      code: { text: support.description },
      subject: ctx.patient,
      performer: [{ reference: '#supporter', display: support.supporter.name }],
    };
    return { resource, identifier, pointer: `/naturalSupports/${index}` };
  });
}

function observationResources(ctx: PcspContext): PlannedResource[] {
  const { doc } = ctx;
  const lifestyle = doc.preferredLifestyle;
  const listObservation = (code: string, itemCode: string, values: readonly string[], pointer: string): PlannedResource => {
    const identifier = ctx.item('observation', code);
    const resource = planObservation({ identifier, code, subject: ctx.patient, components: values.map((v) => planComponent(itemCode, v)) });
    return { resource, identifier, pointer };
  };
  const lifestyleIdentifier = ctx.item('observation', 'preferred-lifestyle');
  // K.A.R. 30-63-21(a)(2)(A)-(E) preferred lifestyle; 441.301(c)(1) alternative settings considered.
  const lifestyleObservation = planObservation({
    identifier: lifestyleIdentifier,
    code: 'preferred-lifestyle',
    subject: ctx.patient,
    components: [
      planComponent('living-setting', lifestyle.livingSetting),
      planComponent('setting-chosen-by-person', lifestyle.settingChosenByPerson),
      ...lifestyle.alternativeSettingsConsidered.map((s) => planComponent('alternative-setting-considered', s)),
      planComponent('lives-with', lifestyle.livesWith),
      planComponent('work-or-valued-activity', lifestyle.workOrValuedActivity),
      planComponent('socializes-with', lifestyle.socializesWith),
      ...lifestyle.communityActivities.map((s) => planComponent('community-activity', s)),
    ],
  });
  return [
    listObservation('strengths', 'strength', doc.strengths, '/strengths'),
    listObservation('preferences', 'preference', doc.preferences, '/preferences'),
    listObservation('communication-methods', 'communication-method', doc.communicationMethods, '/communicationMethods'),
    { resource: lifestyleObservation, identifier: lifestyleIdentifier, pointer: '/preferredLifestyle' },
  ];
}

/**
 * The answers of a functional assessment as QuestionnaireResponse items: the instrument and each
 * result, with the ks-functional-assessment-result codes as linkIds so that they read the same as
 * the Observation codes.
 */
function assessmentItems(assessment: FunctionalAssessment): QuestionnaireResponseItem[] {
  return [
    {
      linkId: 'instrument',
      text: 'Assessment instrument',
      answer: [{ valueCoding: { system: codeSystem.assessmentInstrument, code: assessment.instrument, display: instrumentDisplay[assessment.instrument] } }],
    },
    ...(assessment.tier !== undefined ? [{ linkId: 'tier', text: 'Tier', answer: [{ valueInteger: assessment.tier }] }] : []),
    ...(assessment.levelOfCare !== undefined ? [{ linkId: 'level-of-care', text: 'Level of care', answer: [{ valueString: assessment.levelOfCare }] }] : []),
  ];
}

/**
 * The functional assessment as answered (issue 6: "QuestionnaireResponse for the assessment";
 * eLTSS profiles QuestionnaireResponse with identifier, questionnaire, status, authored, author,
 * item.linkId, item.answer.value[x], standards.md §1.2). One per PCSP, updated in place like the
 * result Observations; base R4 only (no Kansas QuestionnaireResponse profile exists yet).
 */
function assessmentResponseResource(ctx: PcspContext): PlannedResource {
  const assessment = ctx.doc.functionalAssessment;
  const identifier = ctx.item('assessment', 'questionnaire-response');
  const resource: QuestionnaireResponse = {
    resourceType: 'QuestionnaireResponse',
    // R4 QuestionnaireResponse.identifier is 0..1, a single Identifier (not a list).
    identifier,
    questionnaire: questionnaireByInstrument[assessment.instrument],
    status: 'completed',
    subject: ctx.patient,
    authored: assessment.date,
    ...(assessment.assessor ? { author: { display: assessment.assessor } } : {}),
    item: assessmentItems(assessment),
  };
  return { resource, identifier, pointer: '/functionalAssessment' };
}

/**
 * Functional assessment → KS Functional Assessment Observations (one per result: tier, level of
 * care), derivedFrom the QuestionnaireResponse (R4 Observation.derivedFrom allows one; the catalog
 * marks it MS). The Observations carry everything the document says, so the reverse mapping reads
 * them and not the QuestionnaireResponse.
 */
function assessmentResources(ctx: PcspContext): PlannedResource[] {
  const assessment = ctx.doc.functionalAssessment;
  const response = assessmentResponseResource(ctx);
  const results: { code: string; value: Pick<Observation, 'valueInteger' | 'valueString'> }[] = [
    ...(assessment.tier !== undefined ? [{ code: 'tier', value: { valueInteger: assessment.tier } }] : []),
    ...(assessment.levelOfCare !== undefined ? [{ code: 'level-of-care', value: { valueString: assessment.levelOfCare } }] : []),
  ];
  const observations = results.map(({ code, value }): PlannedResource => {
    const identifier = ctx.item('assessment', code);
    const resource: Observation = {
      resourceType: 'Observation',
      meta: { profile: [profileUrl.functionalAssessment] },
      identifier: [identifier],
      status: 'final',
      code: concept(codeSystem.functionalAssessmentResult, code),
      method: concept(codeSystem.assessmentInstrument, assessment.instrument),
      subject: ctx.patient,
      effectiveDateTime: assessment.date,
      ...(assessment.assessor ? { performer: [{ display: assessment.assessor }] } : {}),
      ...value,
      derivedFrom: [referenceTo(response.identifier)],
    };
    return { resource, identifier, pointer: '/functionalAssessment' };
  });
  return [response, ...observations];
}

function riskResources(ctx: PcspContext): PlannedResource[] {
  return ctx.doc.risks.map((risk, index) => {
    const identifier = ctx.item('risk', risk.id);
    const resource: RiskAssessment = {
      resourceType: 'RiskAssessment',
      meta: { profile: [profileUrl.riskAssessment] },
      identifier: [identifier],
      status: 'final',
      subject: ctx.patient,
      prediction: [{ outcome: { text: risk.description } }],
      mitigation: risk.mitigation,
    };
    return { resource, identifier, pointer: `/risks/${index}` };
  });
}

/** eLTSS Emergency Backup Plan: a separate CarePlan whose partOf is the main plan. */
function backupPlanResource(ctx: PcspContext): PlannedResource {
  const identifier = ctx.item('backup-plan', 'plan');
  const resource: CarePlan = {
    resourceType: 'CarePlan',
    meta: { profile: [profileUrl.backupPlanCarePlan] },
    identifier: [identifier],
    text: { status: 'generated', div: backupPlanNarrative(ctx.doc.backupPlan) },
    status: ctx.doc.status,
    intent: 'plan',
    category: [concept(codeSystem.planType, 'backup-plan'), concept(externalSystem.usCoreCarePlanCategory, 'assess-plan')],
    description: ctx.doc.backupPlan,
    subject: ctx.patient,
    // eLTSS CarePlan requires period.start (standards.md §1.2); the backup plan holds as long as the
    // plan it belongs to (profiles/REQUESTS.md, issue 5 audit).
    period: { ...ctx.doc.effectivePeriod },
    partOf: [ctx.plan],
  };
  return { resource, identifier, pointer: '/backupPlan' };
}

function decisionMakerName(doc: PcspDocument): string | undefined {
  return doc.decisionMaker ? fullName(doc.decisionMaker.name) : undefined;
}

function consentResources(ctx: PcspContext): PlannedResource[] {
  const planConsentId = ctx.item('consent', 'plan');
  const planConsent: PlannedResource = {
    resource: informedConsentResource({
      policy: consentPolicy.personCenteredPlan,
      identifier: planConsentId,
      consent: ctx.doc.informedConsent,
      patient: ctx.patient,
      decisionMakerName: decisionMakerName(ctx.doc),
      about: [ctx.plan],
    }),
    identifier: planConsentId,
    pointer: '/informedConsent',
  };
  const modificationConsents = (ctx.doc.rightsModifications ?? []).map((modification, index): PlannedResource => {
    const identifier = ctx.item('rights-modification-consent', modification.id);
    return {
      resource: informedConsentResource({ policy: consentPolicy.personCenteredPlan, identifier, consent: modification.informedConsent, patient: ctx.patient, decisionMakerName: decisionMakerName(ctx.doc), about: [ctx.plan] }),
      identifier,
      pointer: `/rightsModifications/${index}/informedConsent`,
    };
  });
  return [planConsent, ...modificationConsents];
}

/** eLTSS Plan Signatures → Contract.signer (KS Plan Signatures). */
function signaturesResource(ctx: PcspContext): PlannedResource {
  const identifier = ctx.item('signatures', 'plan');
  const resource: Contract = {
    resourceType: 'Contract',
    meta: { profile: [profileUrl.planSignatures] },
    identifier: [identifier],
    status: 'executed',
    subject: [ctx.patient],
    topicReference: ctx.plan,
    signer: ctx.doc.signatures.map((signature) => ({
      type: { system: codeSystem.signerRole, code: signerRoleCode[signature.role] },
      party: { display: signature.name },
      signature: [
        {
          type: [
            { system: externalSystem.signatureType, code: consentSignatureCode },
            { system: codeSystem.planElement, code: `signature-${signature.method}` },
          ],
          when: `${signature.date}T00:00:00Z`,
          who: { display: signature.name },
        },
      ],
    })),
  };
  return { resource, identifier, pointer: '/signatures' };
}

/** People who took part in planning and the plan monitor (441.301(c)(1) and (c)(2)). */
function careTeamResource(ctx: PcspContext): PlannedResource {
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
function iepResource(ctx: PcspContext): PlannedResource[] {
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

/** 42 CFR 441.301(c)(4)(vi)(F)(1)-(8) as the KS Rights Modification extension. */
function rightsModificationExtension(ctx: PcspContext, modification: RightsModification): Extension {
  return {
    url: extensionUrl.rightsModification,
    extension: [
      { url: 'rightModified', valueString: modification.rightModified },
      { url: 'assessedNeed', valueString: modification.assessedNeed },
      { url: 'positiveInterventions', valueString: modification.positiveInterventionsUsed },
      { url: 'lessIntrusiveMethods', valueString: modification.lessIntrusiveMethodsTried },
      { url: 'conditionDescription', valueString: modification.conditionDescription },
      { url: 'dataCollection', valueString: modification.dataCollection },
      { url: 'reviewDate', valueDate: modification.reviewBy },
      { url: 'informedConsent', valueReference: referenceTo(ctx.item('rights-modification-consent', modification.id)) },
      { url: 'noHarmAssurance', valueBoolean: modification.noHarmAssurance },
    ],
  };
}

function distributionExtensions(doc: PcspDocument): Extension[] {
  return doc.distribution.map((recipient) => ({
    url: extensionUrl.planDistribution,
    extension: [
      { url: 'recipient', valueString: recipient.name },
      { url: 'role', valueCode: recipient.role },
      { url: 'method', valueCode: recipient.method },
      { url: 'date', valueDate: recipient.date },
    ],
  }));
}

function referencesOf(planned: readonly PlannedResource[], type: string, kinds?: readonly PlanItemKind[]): PlanReference[] {
  return planned
    .filter((p) => p.resource.resourceType === type && (!kinds || kinds.some((k) => p.identifier.value?.includes(`/${k}/`))))
    .map((p) => referenceTo(p.identifier));
}

function carePlanResource(ctx: PcspContext, items: readonly PlannedResource[]): CarePlan {
  const { doc } = ctx;
  const planner = containedProfessional('planner', doc.supportPlanner, doc.supportPlanner.role);
  return {
    resourceType: 'CarePlan',
    meta: { profile: [profileUrl.pcspCarePlan] },
    identifier: [planIdentifier(doc.planId)],
    text: { status: 'generated', div: planNarrative(doc) },
    contained: planner.contained,
    extension: [
      ...(doc.waiver ? [{ url: extensionUrl.waiverProgram, valueCodeableConcept: concept(codeSystem.waiverProgram, doc.waiver) }] : []),
      { url: extensionUrl.reviewDueDate, valueDate: doc.nextReviewDate },
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
    careTeam: referencesOf(items, 'CareTeam'),
    addresses: referencesOf(items, 'Condition'),
    supportingInfo: [
      ...referencesOf(items, 'Observation'),
      // eLTSS: QuestionnaireResponses are CarePlan.supportingInfo (standards.md §1.4).
      ...referencesOf(items, 'QuestionnaireResponse'),
      ...referencesOf(items, 'RiskAssessment'),
      ...referencesOf(items, 'Consent'),
      ...referencesOf(items, 'Contract'),
      ...referencesOf(items, 'CarePlan'),
      ...referencesOf(items, 'Task', ['iep-participation']),
    ],
    goal: referencesOf(items, 'Goal'),
    activity: [...referencesOf(items, 'ServiceRequest'), ...referencesOf(items, 'Task', ['step'])].map((reference) => ({ reference })),
  };
}

/** Every resource a PCSP document becomes, in a stable order. */
export function planPcspResources(doc: PcspDocument): PlannedResource[] {
  const ctx = contextFor(doc);
  const items: PlannedResource[] = [
    ...needResources(ctx),
    ...doc.goals.flatMap((goal, index) => [goalResource(ctx, goal, `/goals/${index}`), ...stepResources(ctx, goal, index)]),
    ...doc.services.map((service, index) => serviceResource(ctx, service, `/services/${index}`)),
    ...naturalSupportResources(ctx),
    ...observationResources(ctx),
    ...assessmentResources(ctx),
    ...riskResources(ctx),
    backupPlanResource(ctx),
    ...consentResources(ctx),
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
