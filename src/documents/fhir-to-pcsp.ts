import type {
  CarePlan,
  CareTeam,
  Condition,
  Consent,
  Contract,
  Extension,
  Goal,
  Observation,
  Patient,
  Resource,
  RiskAssessment,
  ServiceRequest,
  Task,
  RelatedPerson,
} from '@medplum/fhirtypes';
import { codeSystem, decisionMakerCodes, extensionUrl, externalSystem, identifierSystem, profileUrl, signerRoleCode } from './canonical.ts';
import {
  codeIn,
  componentBoolean,
  componentString,
  componentStrings,
  containedById,
  extensionValue,
  extensionsOf,
  humanNameFromFhir,
  informedConsentFrom,
  professionalFrom,
  professionalRoleCode,
  requireValue,
  StoredPlanError,
} from './fhir-elements.ts';
import { StoredResources, itemIdOf, itemKindOf } from './stored-plan.ts';
import type {
  AssessedNeed,
  DecisionMaker,
  DistributionRecipient,
  FunctionalAssessment,
  NaturalSupport,
  PaidService,
  Participant,
  PcspDocument,
  PersonDemographics,
  PlanGoal,
  RightsModification,
  ServiceAmount,
  Signature,
  SupportPlanner,
} from './types.ts';

/**
 * Stored resources → the PCSP document they were imported from: the exact inverse of
 * pcsp-to-fhir.ts, so that document → server → document is deep-equal.
 */

/** Drops keys whose value is undefined, so optional document fields stay absent. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function nonEmpty<T>(items: T[]): T[] | undefined {
  return items.length > 0 ? items : undefined;
}

function invert<K extends string, V extends string>(map: Readonly<Record<K, V>>, value: string | undefined, what: string): K {
  const key = (Object.keys(map) as K[]).find((k) => map[k] === value);
  return requireValue(key, what);
}

export function personFrom(patient: Patient): PersonDemographics {
  const medicaidId = requireValue(patient.identifier?.find((i) => i.system === identifierSystem.medicaidId)?.value, 'the Medicaid id');
  const address = patient.address?.[0];
  return compact({
    medicaidId,
    name: humanNameFromFhir(patient.name?.[0]),
    birthDate: requireValue(patient.birthDate, 'the birth date'),
    gender: requireValue(patient.gender, 'the gender'),
    phone: patient.telecom?.find((t) => t.system === 'phone')?.value,
    address: address
      ? compact({
          line: [...(address.line ?? [])],
          city: requireValue(address.city, 'the city'),
          state: requireValue(address.state, 'the state'),
          postalCode: requireValue(address.postalCode, 'the postal code'),
          county: address.district,
        })
      : undefined,
    preferredLanguage: patient.communication?.[0]?.language?.coding?.[0]?.code,
  });
}

function decisionMakerFrom(patient: Patient): DecisionMaker | undefined {
  const contact = patient.contact?.find((c) => codeIn(c.relationship, codeSystem.decisionMakerRole) !== undefined);
  if (!contact) {
    return undefined;
  }
  const roleCode = codeIn(contact.relationship, externalSystem.roleCode);
  const relationship = (Object.keys(decisionMakerCodes) as (keyof typeof decisionMakerCodes)[]).find((k) => decisionMakerCodes[k].roleCode === roleCode);
  return compact({
    name: humanNameFromFhir(contact.name),
    relationship: requireValue(relationship, 'the decision maker relationship'),
    phone: contact.telecom?.find((t) => t.system === 'phone')?.value,
  });
}

function supportPlannerFrom(plan: CarePlan): SupportPlanner {
  const role = professionalRoleCode(plan, plan.author);
  if (role !== 'targeted-case-manager' && role !== 'mco-care-coordinator') {
    throw new StoredPlanError('The PCSP author has no targeted-case-manager or mco-care-coordinator role.');
  }
  return { ...professionalFrom(plan, plan.author), role };
}

function byKind<T extends Resource>(resources: readonly Resource[], type: T['resourceType'], kind: string): T[] {
  return resources.filter((r): r is T => r.resourceType === type && itemKindOf(r) === kind);
}

function observationByItem(observations: readonly Observation[], itemId: string): Observation | undefined {
  return observations.find((o) => itemIdOf(o) === itemId);
}

function goalIdsOf(extensions: readonly Extension[] | undefined, stored: StoredResources): string[] {
  return extensionsOf(extensions, extensionUrl.pertainsToGoal).map((e) => itemIdOf(requireValue(stored.resolve<Goal>(e.valueReference), 'a goal a service pertains to')));
}

function assessmentFrom(observations: readonly Observation[]): FunctionalAssessment {
  const tier = observationByItem(observations, 'tier');
  const level = observationByItem(observations, 'level-of-care');
  const first = requireValue(tier ?? level, 'the functional assessment');
  return compact({
    instrument: requireValue(codeIn(first.method, codeSystem.assessmentInstrument), 'the assessment instrument') as FunctionalAssessment['instrument'],
    date: requireValue(first.effectiveDateTime, 'the assessment date').slice(0, 10),
    tier: tier?.valueInteger,
    levelOfCare: level?.valueString,
    assessor: first.performer?.[0]?.display,
  });
}

function needFrom(condition: Condition): AssessedNeed {
  return {
    id: itemIdOf(condition),
    description: requireValue(condition.code?.text, 'a need description'),
    domain: requireValue(codeIn(condition.category, codeSystem.needDomain), 'a need domain') as AssessedNeed['domain'],
  };
}

function goalFrom(goal: Goal, steps: readonly Task[], stored: StoredResources): PlanGoal {
  const goalSteps = steps
    .filter((task) => goalIdsOf(task.extension, stored).includes(itemIdOf(goal)))
    .map((task) => ({ id: itemIdOf(task), description: requireValue(task.description, 'a step description'), responsible: requireValue(task.owner?.display, 'who is responsible for a step') }));
  return compact({
    id: itemIdOf(goal),
    description: requireValue(goal.description.text, 'a goal description'),
    desiredOutcome: goal.target?.[0]?.detailString,
    targetDate: goal.target?.[0]?.dueDate,
    addressesNeeds: stored.resolveAll<Condition>(goal.addresses).map(itemIdOf),
    steps: nonEmpty(goalSteps),
  });
}

export function amountFrom(request: ServiceRequest): ServiceAmount {
  const quantity = request.quantityRatio?.numerator ?? request.quantityQuantity;
  const per = request.quantityRatio?.denominator?.unit as ServiceAmount['per'] | undefined;
  return compact({
    quantity: requireValue(quantity?.value, 'a service amount'),
    unit: requireValue(quantity?.code, 'a service unit') as ServiceAmount['unit'],
    per,
  });
}

function serviceFrom(request: ServiceRequest, stored: StoredResources): PaidService {
  const performer = request.performer?.[0];
  return compact({
    id: itemIdOf(request),
    serviceCode: requireValue(request.code?.coding?.find((c) => c.system === externalSystem.hcpcs)?.code, 'a HCPCS code'),
    name: requireValue(request.code?.text, 'a service name'),
    amount: amountFrom(request),
    period: compact({ start: requireValue(request.occurrencePeriod?.start, 'a service start'), end: request.occurrencePeriod?.end }),
    provider: compact({ name: requireValue(performer?.display, 'a provider name'), kmmsId: performer?.identifier?.value }),
    location: request.locationReference?.[0]?.display,
    selfDirected: requireValue(extensionValue(request.extension, extensionUrl.selfDirection)?.valueBoolean, 'the self-direction flag'),
    fundingSource: requireValue(codeIn(request.category, codeSystem.fundingSource), 'a funding source') as PaidService['fundingSource'],
    goals: goalIdsOf(request.extension, stored),
    comment: request.note?.[0]?.text,
  });
}

function naturalSupportFrom(request: ServiceRequest, stored: StoredResources): NaturalSupport {
  const supporter = containedById(request, request.performer?.[0]) as RelatedPerson | undefined;
  return {
    id: itemIdOf(request),
    description: requireValue(request.code?.text, 'a natural support description'),
    supporter: {
      name: requireValue(supporter?.name?.[0]?.text, 'a supporter name'),
      relationship: requireValue(supporter?.relationship?.[0]?.text, 'a supporter relationship'),
    },
    goals: goalIdsOf(request.extension, stored),
  };
}

function subValue(extension: Extension, url: string): Extension {
  return requireValue(extension.extension?.find((e) => e.url === url), `the ${url} of an extension`);
}

function rightsModificationFrom(extension: Extension, stored: StoredResources): RightsModification {
  const consent = requireValue(stored.resolve<Consent>(subValue(extension, 'informedConsent').valueReference), 'a rights modification consent');
  const text = (url: string): string => requireValue(subValue(extension, url).valueString, url);
  if (subValue(extension, 'noHarmAssurance').valueBoolean !== true) {
    throw new StoredPlanError('A stored rights modification lacks the no-harm assurance.');
  }
  return {
    id: itemIdOf(consent),
    rightModified: text('rightModified'),
    assessedNeed: text('assessedNeed'),
    positiveInterventionsUsed: text('positiveInterventions'),
    lessIntrusiveMethodsTried: text('lessIntrusiveMethods'),
    conditionDescription: text('conditionDescription'),
    dataCollection: text('dataCollection'),
    reviewBy: requireValue(subValue(extension, 'reviewDate').valueDate, 'reviewDate'),
    informedConsent: informedConsentFrom(consent),
    noHarmAssurance: true,
  };
}

function distributionFrom(extension: Extension): DistributionRecipient {
  return {
    name: requireValue(subValue(extension, 'recipient').valueString, 'a recipient'),
    role: requireValue(subValue(extension, 'role').valueCode, 'a recipient role') as DistributionRecipient['role'],
    method: requireValue(subValue(extension, 'method').valueCode, 'a distribution method') as DistributionRecipient['method'],
    date: requireValue(subValue(extension, 'date').valueDate, 'a distribution date'),
  };
}

function signaturesFrom(contract: Contract | undefined): Signature[] {
  return requireValue(contract, 'the plan signatures').signer?.map((signer) => {
    const signature = signer.signature?.[0];
    const method = signature?.type?.find((t) => t.system === codeSystem.planElement)?.code?.replace(/^signature-/, '');
    return {
      name: requireValue(signer.party?.display, 'a signer name'),
      role: invert(signerRoleCode, signer.type?.code, 'a signer role'),
      date: requireValue(signature?.when, 'a signature date').slice(0, 10),
      method: requireValue(method, 'a signature method') as Signature['method'],
    };
  }) ?? [];
}

function careTeamParts(careTeam: CareTeam | undefined): { participants: Participant[]; monitor: PcspDocument['monitor'] } {
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

/** Stored resources of a PCSP (the CarePlan, its Patient and everything it references) → the document. */
export function mapResourcesToPcsp(resources: readonly Resource[], planId?: string): PcspDocument {
  const stored = new StoredResources(resources);
  const plan = stored.carePlan(planId, profileUrl.pcspCarePlan);
  const patient = requireValue(stored.resolve<Patient>(plan.subject), 'the Patient');
  const supporting = stored.resolveAll<Resource>(plan.supportingInfo);
  const activities = stored.resolveAll<Resource>((plan.activity ?? []).map((a) => a.reference));
  const observations = supporting.filter((r): r is Observation => r.resourceType === 'Observation');
  const planObservations = observations.filter((o) => itemKindOf(o) === 'observation');
  const lifestyle = observationByItem(planObservations, 'preferred-lifestyle');
  const iep = byKind<Task>(supporting, 'Task', 'iep-participation')[0];
  const backup = requireValue(byKind<CarePlan>(supporting, 'CarePlan', 'backup-plan')[0], 'the backup plan');
  const { participants, monitor } = careTeamParts(stored.resolve<CareTeam>(plan.careTeam?.[0]));
  const steps = byKind<Task>(activities, 'Task', 'step');
  const waiver = codeIn(extensionValue(plan.extension, extensionUrl.waiverProgram)?.valueCodeableConcept, codeSystem.waiverProgram);
  return compact({
    documentType: 'pcsp' as const,
    schemaVersion: '1.0' as const,
    planId: requireValue(plan.identifier?.find((i) => i.system === identifierSystem.planId)?.value, 'the plan id'),
    status: plan.status as PcspDocument['status'],
    waiver: waiver as PcspDocument['waiver'],
    person: personFrom(patient),
    decisionMaker: decisionMakerFrom(patient),
    supportPlanner: supportPlannerFrom(plan),
    effectivePeriod: { start: requireValue(plan.period?.start, 'the plan start'), end: requireValue(plan.period?.end, 'the plan end') },
    nextReviewDate: requireValue(extensionValue(plan.extension, extensionUrl.reviewDueDate)?.valueDate, 'the next review date'),
    preferredLifestyle: {
      livingSetting: componentString(lifestyle, 'living-setting'),
      settingChosenByPerson: componentBoolean(lifestyle, 'setting-chosen-by-person'),
      alternativeSettingsConsidered: componentStrings(lifestyle, 'alternative-setting-considered'),
      livesWith: componentString(lifestyle, 'lives-with'),
      workOrValuedActivity: componentString(lifestyle, 'work-or-valued-activity'),
      socializesWith: componentString(lifestyle, 'socializes-with'),
      communityActivities: componentStrings(lifestyle, 'community-activity'),
    },
    strengths: componentStrings(observationByItem(planObservations, 'strengths'), 'strength'),
    preferences: componentStrings(observationByItem(planObservations, 'preferences'), 'preference'),
    communicationMethods: componentStrings(observationByItem(planObservations, 'communication-methods'), 'communication-method'),
    functionalAssessment: assessmentFrom(observations.filter((o) => itemKindOf(o) === 'assessment')),
    assessedNeeds: stored.resolveAll<Condition>(plan.addresses).map(needFrom),
    goals: stored.resolveAll<Goal>(plan.goal).map((goal) => goalFrom(goal, steps, stored)),
    services: byKind<ServiceRequest>(activities, 'ServiceRequest', 'service').map((r) => serviceFrom(r, stored)),
    naturalSupports: nonEmpty(byKind<ServiceRequest>(activities, 'ServiceRequest', 'natural-support').map((r) => naturalSupportFrom(r, stored))),
    risks: byKind<RiskAssessment>(supporting, 'RiskAssessment', 'risk').map((risk) => ({
      id: itemIdOf(risk),
      description: requireValue(risk.prediction?.[0]?.outcome?.text, 'a risk description'),
      mitigation: requireValue(risk.mitigation, 'a risk mitigation'),
    })),
    backupPlan: requireValue(backup.description, 'the backup plan text'),
    rightsModifications: nonEmpty(extensionsOf(plan.extension, extensionUrl.rightsModification).map((e) => rightsModificationFrom(e, stored))),
    iepParticipation: iep
      ? {
          school: requireValue(iep.location?.display, 'the school'),
          iepMeetingDate: requireValue(iep.authoredOn, 'the IEP meeting date').slice(0, 10),
          caseManagerRole: requireValue(iep.description, 'the case manager role in the IEP'),
        }
      : undefined,
    monitor,
    participants,
    informedConsent: informedConsentFrom(byKind<Consent>(supporting, 'Consent', 'consent')[0]),
    signatures: signaturesFrom(byKind<Contract>(supporting, 'Contract', 'signatures')[0]),
    distribution: extensionsOf(plan.extension, extensionUrl.planDistribution).map(distributionFrom),
  });
}
