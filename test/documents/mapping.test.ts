import type { CarePlan, CareTeam, Condition, Consent, Contract, Extension, Flag, Goal, MedicationRequest, MedicationStatement, Observation, Patient, QuestionnaireResponse, Resource, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { codeSystem, extensionUrl, externalSystem, identifierSystem, profileUrl } from '../../src/documents/canonical.ts';
import { planBspResources } from '../../src/documents/bsp/bsp-to-fhir.ts';
import { planIspResources } from '../../src/documents/isp/isp-to-fhir.ts';
import { planIdentifier, referenceTo } from '../../src/documents/mapping/plan-references.ts';
import { planPcspResources } from '../../src/documents/pcsp/pcsp-to-fhir.ts';
import { parseAssessmentQuestionnaires, questionnaireByInstrument } from '../../src/documents/pcsp/assessment-questionnaires.ts';
import type { BspDocument } from '../../src/documents/bsp/bsp-types.ts';
import type { IspDocument } from '../../src/documents/isp/isp-types.ts';
import type { PcspDocument } from '../../src/documents/pcsp/pcsp-types.ts';
import { readExample } from './examples.ts';

/**
 * Where each content element issue 6 lists ends up in FHIR. The round-trip tests prove nothing is
 * lost; these prove it lands where an EHR or MCO system reading FHIR looks for it (the eLTSS paths
 * of standards.md §1.4 and the Kansas profiles), so a change made to both mappers at once cannot
 * quietly move an element somewhere nobody reads.
 */

type Planned = { resource: Resource; identifier: { value?: string } };

function item<T extends Resource>(planned: readonly Planned[], kindAndId: string): T {
  const found = planned.find((p) => p.identifier.value?.endsWith(`/${kindAndId}`));
  if (!found) throw new Error(`no planned resource for ${kindAndId}`);
  return found.resource as T;
}

/** The reference other entries of the same transaction use for an item (its fullUrl). */
function refOf(planned: readonly Planned[], kindAndId: string): string | undefined {
  const found = planned.find((p) => p.identifier.value?.endsWith(`/${kindAndId}`));
  return found ? referenceTo({ system: identifierSystem.planItem, value: found.identifier.value }).reference : undefined;
}

function plan(planned: readonly Planned[]): CarePlan {
  return planned.find((p) => p.resource.resourceType === 'CarePlan' && p.identifier.value && !p.identifier.value.includes('/'))!.resource as CarePlan;
}

function components(observation: Observation, code: string): unknown[] {
  return (observation.component ?? []).filter((c) => c.code.coding?.some((x) => x.code === code)).map((c) => c.valueString ?? c.valueBoolean);
}

function subExtensions(extension: Extension | undefined): Record<string, unknown[]> {
  const values: Record<string, unknown[]> = {};
  for (const sub of extension?.extension ?? []) {
    const key = Object.keys(sub).find((k) => k.startsWith('value'))!;
    (values[sub.url] ??= []).push((sub as unknown as Record<string, unknown>)[key]);
  }
  return values;
}

describe('PCSP → FHIR placement (Avery Example, Jordan Sample, Sam Testperson)', () => {
  const doc = readExample('avery-example.pcsp.json') as PcspDocument;
  const planned = planPcspResources(doc);
  const carePlan = plan(planned);

  it('person and decision maker: KS Patient with Medicaid ID and the guardian as contact', () => {
    const patient = planned[0]!.resource as Patient;
    expect(patient.meta?.profile).toEqual([profileUrl.patient]);
    expect(patient.identifier).toEqual([{ system: identifierSystem.medicaidId, value: 'KS-TEST-0000001' }]);
    expect(patient.contact?.[0]?.relationship?.[0]?.coding?.map((c) => c.code)).toEqual(expect.arrayContaining(['GUARD', 'CP']));
  });

  it('preferred lifestyle: setting chosen, alternatives considered, who to live with, work, social life', () => {
    const lifestyle = item<Observation>(planned, 'observation/preferred-lifestyle');
    expect(components(lifestyle, 'setting-chosen-by-person')).toEqual([true]);
    expect(components(lifestyle, 'alternative-setting-considered')).toEqual(doc.preferredLifestyle.alternativeSettingsConsidered);
    expect(components(lifestyle, 'lives-with')).toEqual([doc.preferredLifestyle.livesWith]);
    expect(components(lifestyle, 'work-or-valued-activity')).toEqual([doc.preferredLifestyle.workOrValuedActivity]);
    expect(components(lifestyle, 'community-activity')).toEqual(doc.preferredLifestyle.communityActivities);
    expect(carePlan.supportingInfo).toContainEqual({ reference: refOf(planned, 'observation/preferred-lifestyle') });
  });

  it('strengths, preferences and communication methods: one Observation each', () => {
    expect(components(item<Observation>(planned, 'observation/strengths'), 'strength')).toEqual(doc.strengths);
    expect(components(item<Observation>(planned, 'observation/preferences'), 'preference')).toEqual(doc.preferences);
    expect(components(item<Observation>(planned, 'observation/communication-methods'), 'communication-method')).toEqual(doc.communicationMethods);
  });

  it('functional assessment: KS Functional Assessment with instrument as method, date and tier', () => {
    const tier = item<Observation>(planned, 'assessment/tier');
    expect(tier.meta?.profile).toEqual([profileUrl.functionalAssessment]);
    expect(tier.method?.coding).toEqual([{ system: codeSystem.assessmentInstrument, code: 'basis' }]);
    expect(tier).toMatchObject({ effectiveDateTime: '2026-08-15', valueInteger: 3 });
    expect(tier.derivedFrom).toEqual([{ reference: refOf(planned, 'assessment/questionnaire-response') }]);
  });

  it('functional assessment as answered: a QuestionnaireResponse per PCSP, in CarePlan.supportingInfo (eLTSS)', () => {
    const response = item<QuestionnaireResponse>(planned, 'assessment/questionnaire-response');
    // R4 QuestionnaireResponse.identifier is a single Identifier, not a list.
    expect(response.identifier).toEqual({ system: identifierSystem.planItem, value: 'PCSP-TEST-AVERY-2026/assessment/questionnaire-response' });
    expect(response).toMatchObject({ status: 'completed', authored: '2026-08-15', questionnaire: questionnaireByInstrument.basis });
    expect(response.subject).toEqual(referenceTo({ system: identifierSystem.medicaidId, value: 'KS-TEST-0000001' }));
    expect(response.item?.map((i) => [i.linkId, i.answer?.[0]])).toEqual([
      ['instrument', { valueCoding: { system: codeSystem.assessmentInstrument, code: 'basis', display: 'BASIS' } }],
      ['tier', { valueInteger: 3 }],
    ]);
    expect(carePlan.supportingInfo).toContainEqual({ reference: refOf(planned, 'assessment/questionnaire-response') });
    expect(response.author?.display).toBe(doc.functionalAssessment.assessor);

    // A level-of-care result is answered too, under the instrument's own Questionnaire canonical;
    // no assessor in the document, no author.
    const casey = readExample('casey-fictional.pcsp.json') as PcspDocument;
    const caseyResponse = item<QuestionnaireResponse>(planPcspResources(casey), 'assessment/questionnaire-response');
    expect(caseyResponse.questionnaire).toBe(questionnaireByInstrument.mfei);
    expect(caseyResponse.author).toBeUndefined();
    expect(caseyResponse.item?.map((i) => [i.linkId, i.answer?.[0]])).toEqual([
      ['instrument', { valueCoding: { system: codeSystem.assessmentInstrument, code: 'mfei', display: 'MFEI' } }],
      ['level-of-care', { valueString: 'Meets nursing facility level of care' }],
    ]);
  });

  it('assessment Questionnaire canonicals are data: every instrument code needs one, or loading fails', () => {
    expect(() => parseAssessmentQuestionnaires(JSON.stringify({ questionnaireByInstrument: { basis: 'https://example.org/Questionnaire/basis' } }))).toThrow(/"mfei"/);
    expect(() => parseAssessmentQuestionnaires(JSON.stringify({ questionnaireByInstrument: { ...questionnaireByInstrument, other: 'not a url' } }))).toThrow(/"other"/);
  });

  it('assessed needs, goals with desired outcome and steps (eLTSS Assessed Need, Goal, Step or Action)', () => {
    const need = item<Condition>(planned, 'need/N1');
    expect(need.category?.flatMap((c) => c.coding ?? [])).toContainEqual({ system: externalSystem.eltssConditionCategory, code: 'assessed-need' });
    const goal = item<Goal>(planned, 'goal/G1');
    expect(goal.target?.[0]).toMatchObject({ detailString: doc.goals[0]!.desiredOutcome, dueDate: '2027-06-30' });
    const step = item<Task>(planned, 'step/G1-S1');
    expect(step.extension?.[0]).toMatchObject({ url: extensionUrl.pertainsToGoal });
    expect(step.owner?.display).toBe('Avery with residential staff');
    expect(carePlan.activity?.map((a) => a.reference?.reference)).toContainEqual(refOf(planned, 'step/G1-S1'));
    expect(carePlan.goal?.map((g) => g.reference)).toContainEqual(refOf(planned, 'goal/G1'));
    expect(carePlan.addresses?.map((a) => a.reference)).toContainEqual(refOf(planned, 'need/N1'));
  });

  it('paid services: HCPCS code, amount per interval, dates, provider with KMMS id, location, self-direction, funding', () => {
    const dayService = item<ServiceRequest>(planned, 'service/S2');
    expect(dayService.meta?.profile).toEqual([profileUrl.plannedService]);
    expect(dayService.code?.coding?.[0]).toEqual({ system: externalSystem.hcpcs, code: 'T2021' });
    expect(dayService.quantityRatio).toMatchObject({ numerator: { value: 40, code: '15-min' }, denominator: { value: 1, code: 'wk' } });
    expect(dayService.occurrencePeriod).toEqual({ start: '2026-10-01', end: '2027-09-30' });
    const residential = item<ServiceRequest>(planned, 'service/S1');
    expect(residential.performer?.[0]).toEqual({ display: 'Example Residential Services (fictional)', identifier: { system: identifierSystem.kmmsId, value: 'KMMS-TEST-001' } });
    expect(residential.locationReference?.[0]?.display).toBe('100 Example Street, Topeka, KS 66603');
    expect(residential.extension).toContainEqual({ url: extensionUrl.selfDirection, valueBoolean: false });
    expect(residential.category?.[0]?.coding?.[0]).toEqual({ system: codeSystem.fundingSource, code: 'medicaid-waiver' });

    const sam = readExample('sam-testperson.pcsp.json') as PcspDocument;
    const selfDirected = sam.services.find((s) => s.selfDirected)!;
    const samService = item<ServiceRequest>(planPcspResources(sam), `service/${selfDirected.id}`);
    expect(samService.extension).toEqual(
      expect.arrayContaining([
        { url: extensionUrl.selfDirection, valueBoolean: true },
        { url: extensionUrl.eltssDirectedBy, valueCodeableConcept: { text: 'self' } },
      ]),
    );
  });

  it('unpaid supports: the supporter is a RelatedPerson performing the support', () => {
    const support = item<ServiceRequest>(planned, 'natural-support/NS1');
    expect(support.performer?.[0]?.reference).toBe('#supporter');
    expect(support.contained?.[0]).toMatchObject({ resourceType: 'RelatedPerson', relationship: [{ text: 'mother' }], name: [{ text: 'Pat Example' }] });
  });

  it('risks with mitigation, and the backup plan as a CarePlan partOf the PCSP', () => {
    expect(item<RiskAssessment>(planned, 'risk/R1')).toMatchObject({ prediction: [{ outcome: { text: 'May leave the stove on' } }], mitigation: doc.risks[0]!.mitigation });
    const backup = item<CarePlan>(planned, 'backup-plan/plan');
    expect(backup).toMatchObject({ meta: { profile: [profileUrl.backupPlanCarePlan] }, description: doc.backupPlan, period: doc.effectivePeriod });
    expect(backup.partOf?.[0]?.reference).toBe(referenceTo(planIdentifier(doc.planId)).reference);
  });

  it('rights modifications: all eight elements of 42 CFR 441.301(c)(4)(vi)(F) plus the right modified', () => {
    const modification = subExtensions(carePlan.extension?.find((e) => e.url === extensionUrl.rightsModification));
    const m = doc.rightsModifications![0]!;
    expect(modification).toMatchObject({
      rightModified: [m.rightModified],
      assessedNeed: [m.assessedNeed],
      positiveInterventions: [m.positiveInterventionsUsed],
      lessIntrusiveMethods: [m.lessIntrusiveMethodsTried],
      conditionDescription: [m.conditionDescription],
      dataCollection: [m.dataCollection],
      reviewDate: [m.reviewBy],
      noHarmAssurance: [true],
    });
    const consent = item<Consent>(planned, 'rights-modification-consent/RM1');
    expect(consent.meta?.profile).toEqual([profileUrl.informedConsent]);
    expect(consent.dateTime?.slice(0, 10)).toBe(m.informedConsent.date);
  });

  it('IEP participation (Jordan Sample): KS Workflow Task iep-participation', () => {
    const jordan = readExample('jordan-sample.pcsp.json') as PcspDocument;
    const iep = item<Task>(planPcspResources(jordan), 'iep-participation/iep');
    expect(iep.code?.coding?.[0]).toEqual({ system: codeSystem.taskType, code: 'iep-participation' });
    expect(iep).toMatchObject({ location: { display: jordan.iepParticipation!.school }, authoredOn: jordan.iepParticipation!.iepMeetingDate });
  });

  it('monitor and participants: CareTeam; signatures: Contract.signer; informed consent: KS Informed Consent', () => {
    const team = item<CareTeam>(planned, 'care-team/plan');
    expect(team.participant?.map((p) => p.role?.[0]?.coding?.[0]?.code)).toEqual(['person', 'decision-maker', 'targeted-case-manager', 'provider', 'plan-monitor']);
    const signatures = item<Contract>(planned, 'signatures/plan');
    expect(signatures.meta?.profile).toEqual([profileUrl.planSignatures]);
    expect(signatures.signer?.map((s) => s.party.display)).toEqual(doc.signatures.map((s) => s.name));
    expect(item<Consent>(planned, 'consent/plan').meta?.profile).toEqual([profileUrl.informedConsent]);
  });

  it('effective period, next review date and distribution list on the CarePlan', () => {
    expect(carePlan.period).toEqual(doc.effectivePeriod);
    expect(carePlan.extension).toContainEqual({ url: extensionUrl.reviewDueDate, valueDate: doc.nextReviewDate });
    const copies = carePlan.extension?.filter((e) => e.url === extensionUrl.planDistribution).map(subExtensions);
    expect(copies?.map((c) => [c.recipient?.[0], c.method?.[0], c.date?.[0]])).toEqual(doc.distribution.map((d) => [d.name, d.method, d.date]));
  });
});

describe('BSP → FHIR placement (Avery Example)', () => {
  const doc = readExample('avery-example.bsp.json') as BspDocument;
  const planned = planBspResources(doc);
  const carePlan = plan(planned);

  it('is a KS BSP CarePlan partOf the PCSP', () => {
    expect(carePlan.meta?.profile).toEqual([profileUrl.bspCarePlan]);
    expect(carePlan.partOf?.[0]?.reference).toBe(`CarePlan?identifier=${encodeURIComponent(`${identifierSystem.planId}|${doc.pcspPlanId}`)}`);
  });

  it('target behaviors with operational definitions, positive supports for them', () => {
    const behavior = doc.targetBehaviors[0]!;
    expect(item<Condition>(planned, `target-behavior/${behavior.id}`)).toMatchObject({ code: { text: behavior.name }, note: [{ text: behavior.operationalDefinition }] });
    const support = doc.positiveSupports[0]!;
    expect(item<ServiceRequest>(planned, `positive-support/${support.id}`).reasonReference).toHaveLength(support.behaviors.length);
  });

  it('functional assessment summary, accommodations, less restrictive alternatives, data collection', () => {
    expect(item<Observation>(planned, 'observation/functional-behavior-assessment')).toMatchObject({ valueString: doc.functionalAssessmentSummary.summary });
    const context = item<Observation>(planned, 'observation/behavior-support-context');
    expect(components(context, 'environmental-accommodation')).toEqual(doc.environmentalAccommodations);
    expect(components(context, 'less-restrictive-alternative')).toEqual(doc.lessRestrictiveAlternativesTried);
    expect(components(item<Observation>(planned, 'observation/behavior-data-collection'), 'data-collection-method')).toEqual([doc.dataCollection.method]);
  });

  it('restrictive intervention: risks/benefits reviewed, consent, committee and approval date, time limit', () => {
    const intervention = doc.restrictiveInterventions![0]!;
    const extension = subExtensions(carePlan.extension?.find((e) => e.url === extensionUrl.restrictiveIntervention));
    expect(extension).toMatchObject({
      risksBenefitsReviewed: [intervention.risksBenefitsSideEffectsReviewed],
      committeeApprovalDate: [intervention.committeeApproval.date],
      committee: [{ type: 'Organization', display: intervention.committeeApproval.committee }],
      reviewDate: [intervention.reviewBy],
    });
    const consent = item<Consent>(planned, `restrictive-intervention-consent/${intervention.id}`);
    expect(consent.meta?.profile).toEqual([profileUrl.informedConsent]);
    expect(extension.consent?.[0]).toEqual({ reference: refOf(planned, `restrictive-intervention-consent/${intervention.id}`) });
  });

  it('PRN medication with its own consent (K.A.R. 30-63-23(b)(1)(D)) and the review date', () => {
    const prn = doc.prnMedications![0]!;
    const request = item<MedicationRequest>(planned, `prn-medication/${prn.id}`);
    expect(request.dosageInstruction?.[0]?.asNeededCodeableConcept?.text).toBe(prn.indication);
    // The order follows the plan: not active before the plan is, not left active after it ends.
    expect(request.status).toBe('active');
    const statusIn = (status: BspDocument['status']): unknown => item<MedicationRequest>(planBspResources({ ...doc, status }), `prn-medication/${prn.id}`).status;
    expect([statusIn('draft'), statusIn('revoked'), statusIn('completed')]).toEqual(['draft', 'cancelled', 'completed']);
    const consent = item<Consent>(planned, `prn-consent/${prn.id}`);
    expect(consent.meta?.profile).toEqual([profileUrl.informedConsent]);
    expect(consent.dateTime?.slice(0, 10)).toBe(prn.consent.date);
    expect(carePlan.extension).toContainEqual({ url: extensionUrl.reviewDueDate, valueDate: doc.nextReviewDate });
  });
});

describe('ISP → FHIR placement (Avery Example)', () => {
  const doc = readExample('avery-example.isp.json') as IspDocument;
  const planned = planIspResources(doc);
  const carePlan = plan(planned);

  it('integrates the PCSP and BSP; care coordinator is author, TCM contributor; MCO and review date', () => {
    expect(carePlan.basedOn?.map((r) => r.reference)).toEqual([doc.pcspPlanId, doc.bspPlanId].map((id) => `CarePlan?identifier=${encodeURIComponent(`${identifierSystem.planId}|${id}`)}`));
    expect(carePlan.author?.reference).toMatch(/^#/);
    expect(carePlan.contributor?.[0]?.reference).toMatch(/^#/);
    expect(carePlan.extension).toEqual(expect.arrayContaining([{ url: extensionUrl.mco, valueCodeableConcept: { coding: [{ system: codeSystem.mco, code: 'sunflower' }] } }, { url: extensionUrl.reviewDueDate, valueDate: doc.nextReviewDate }]));
  });

  it('health needs and the health-based needs assessment', () => {
    expect(item<Condition>(planned, 'need/HN1').category?.flatMap((c) => c.coding ?? [])).toContainEqual({ system: codeSystem.needDomain, code: 'physical-health' });
    expect(item<Observation>(planned, 'observation/health-needs-assessment')).toMatchObject({ valueString: doc.healthNeedsAssessment.summary });
  });

  it('authorized services: authorization number, units, period, provider, requester = MCO', () => {
    const service = item<ServiceRequest>(planned, 'authorized-service/AS1');
    expect(service.meta?.profile).toEqual([profileUrl.authorizedService]);
    expect(service.identifier).toContainEqual(expect.objectContaining({ system: identifierSystem.authorizationNumber, value: 'AUTH-TEST-0001' }));
    expect(service.quantityQuantity).toMatchObject({ value: 365, code: 'day' });
    expect(service.occurrencePeriod).toEqual({ start: '2026-10-01', end: '2027-09-30' });
    expect(service.performer?.[0]?.identifier?.value).toBe('KMMS-TEST-001');
    expect(service.requester?.type).toBe('Organization');
  });

  it('non-Medicaid resources and the primary care case management items', () => {
    expect(item<ServiceRequest>(planned, 'non-medicaid-resource/NM1').performer?.[0]?.display).toBe(doc.nonMedicaidResources![0]!.source);
    expect(item<Condition>(planned, 'condition/C1').code?.coding).toEqual([{ system: externalSystem.icd10cm, code: 'G40.909' }]);
    const medication = doc.primaryCare.medications![0]!;
    expect(item<MedicationStatement>(planned, `medication/${medication.id}`).medicationCodeableConcept?.text).toBe(medication.name);
    const transition = item<Task>(planned, 'transition/T1');
    expect(transition.code?.coding?.[0]).toEqual({ system: codeSystem.taskType, code: 'transition-follow-up' });
    const flag = doc.primaryCare.highRiskFlags![0]!;
    expect(item<Flag>(planned, `high-risk-flag/${flag}`).status).toBe('active');
  });
});
