import type { Observation, QuestionnaireResponse, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { codeSystem, instrumentDisplay, profileUrl } from '../canonical.ts';
import { codeIn, concept } from '../mapping/fhir-elements.ts';
import { compact } from '../mapping/optional-fields.ts';
import type { PlanContext, PlannedResource } from '../mapping/plan-context.ts';
import { referenceTo } from '../mapping/plan-references.ts';
import { observationOfItem, requireValue } from '../mapping/stored-plan.ts';
import { questionnaireByInstrument } from './assessment-questionnaires.ts';
import type { FunctionalAssessment, PcspDocument } from './pcsp-types.ts';

/**
 * The PCSP's functional assessment ↔ a QuestionnaireResponse as answered and one KS Functional
 * Assessment Observation per result (tier, level of care).
 */

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
function assessmentResponseResource(ctx: PlanContext<PcspDocument>): PlannedResource {
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
export function assessmentResources(ctx: PlanContext<PcspDocument>): PlannedResource[] {
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

export function assessmentFrom(observations: readonly Observation[]): FunctionalAssessment {
  const tier = observationOfItem(observations, 'tier');
  const level = observationOfItem(observations, 'level-of-care');
  const first = requireValue(tier ?? level, 'the functional assessment');
  return compact({
    instrument: requireValue(codeIn(first.method, codeSystem.assessmentInstrument), 'the assessment instrument') as FunctionalAssessment['instrument'],
    date: requireValue(first.effectiveDateTime, 'the assessment date').slice(0, 10),
    tier: tier?.valueInteger,
    levelOfCare: level?.valueString,
    assessor: first.performer?.[0]?.display,
  });
}
