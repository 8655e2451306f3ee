import type { CarePlan, CareTeam, Condition, Consent, Contract, Goal, Observation, Patient, QuestionnaireResponse, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { codeSystem, extensionUrl, externalSystem, identifierSystem, profileUrl } from '../../../src/documents/canonical.ts';
import { planIdentifier, referenceTo } from '../../../src/documents/mapping/plan-references.ts';
import { planPcspResources } from '../../../src/documents/pcsp/pcsp-to-fhir.ts';
import { parseAssessmentQuestionnaires, questionnaireByInstrument } from '../../../src/documents/pcsp/assessment-questionnaires.ts';
import type { PcspDocument } from '../../../src/documents/pcsp/pcsp-types.ts';
import { readExample } from '../examples.ts';
import { components, item, plan, refOf, subExtensions } from '../planned-resources.ts';

/**
 * Where each content element issue 6 lists ends up in FHIR. The round-trip tests prove nothing is
 * lost; these prove it lands where an EHR or MCO system reading FHIR looks for it (the eLTSS paths
 * of standards.md §1.4 and the Kansas profiles), so a change made to both mappers at once cannot
 * quietly move an element somewhere nobody reads.
 */


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
