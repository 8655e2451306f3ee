import type { DocumentProblem } from './schema-validation.ts';
import type { BspDocument } from './bsp/bsp-types.ts';
import type { IspDocument } from './isp/isp-types.ts';
import type { PcspDocument } from './pcsp/pcsp-types.ts';
import type { PlanDocument } from './plan-document.ts';

/**
 * Rules JSON Schema cannot express: dates relative to each other, the review interval, and
 * references between items of one document. They run only on schema-valid documents.
 */

export interface DocumentRuleOptions {
  /**
   * Longest allowed time from the plan's effective start to its next review. 42 CFR
   * 441.301(c)(3) sets the federal floor of "at least every 12 months"; a Kansas-specific
   * interval was NOT FOUND (domain.md §3b), so it is a setting, not a constant.
   */
  readonly maxReviewIntervalMonths: number;
}

export const defaultDocumentRuleOptions: DocumentRuleOptions = { maxReviewIntervalMonths: 12 };

function addMonths(date: string, months: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const shifted = new Date(Date.UTC(year, month - 1 + months, 1));
  const lastDay = new Date(Date.UTC(shifted.getUTCFullYear(), shifted.getUTCMonth() + 1, 0)).getUTCDate();
  shifted.setUTCDate(Math.min(day, lastDay));
  return shifted.toISOString().slice(0, 10);
}

function problem(pointer: string, rule: string, message: string): DocumentProblem {
  return { pointer, rule, message, code: rule === 'reference' ? 'invalid' : 'business-rule' };
}

function periodOrder(pointer: string, period: { start: string; end?: string }): DocumentProblem[] {
  return period.end !== undefined && period.end < period.start
    ? [problem(`${pointer}/end`, 'period-order', `${pointer}/end (${period.end}) is before ${pointer}/start (${period.start}).`)]
    : [];
}

function reviewInterval(pointer: string, start: string, review: string, options: DocumentRuleOptions): DocumentProblem[] {
  const latest = addMonths(start, options.maxReviewIntervalMonths);
  if (review < start) {
    return [problem(pointer, 'review-interval', `${pointer} (${review}) is before the plan starts (${start}).`)];
  }
  if (review > latest) {
    return [
      problem(
        pointer,
        'review-interval',
        `${pointer} (${review}) is more than ${options.maxReviewIntervalMonths} months after the plan starts (${start}); plans must be reviewed at least every ${options.maxReviewIntervalMonths} months (42 CFR 441.301(c)(3)), so the latest review date is ${latest}.`,
      ),
    ];
  }
  return [];
}

/** Ids must be unique across the whole document per kind: they become business identifiers. */
function uniqueIds(items: readonly { id: string }[], pointer: (index: number) => string, kind: string): DocumentProblem[] {
  const seen = new Set<string>();
  const problems: DocumentProblem[] = [];
  items.forEach((item, index) => {
    if (seen.has(item.id)) {
      problems.push(problem(`${pointer(index)}/id`, 'unique-id', `${pointer(index)}/id "${item.id}" is already used by another ${kind} in this document.`));
    }
    seen.add(item.id);
  });
  return problems;
}

function knownIds(refs: readonly string[], known: ReadonlySet<string>, pointer: string, kind: string): DocumentProblem[] {
  return refs.flatMap((ref, index) =>
    known.has(ref) ? [] : [problem(`${pointer}/${index}`, 'reference', `${pointer}/${index} refers to ${kind} "${ref}", which this document does not define.`)],
  );
}

function pcspRules(doc: PcspDocument, options: DocumentRuleOptions): DocumentProblem[] {
  const needIds = new Set(doc.assessedNeeds.map((n) => n.id));
  const goalIds = new Set(doc.goals.map((g) => g.id));
  const steps = doc.goals.flatMap((g, gi) => (g.steps ?? []).map((s, si) => ({ id: s.id, pointer: `/goals/${gi}/steps/${si}` })));
  return [
    ...periodOrder('/effectivePeriod', doc.effectivePeriod),
    ...reviewInterval('/nextReviewDate', doc.effectivePeriod.start, doc.nextReviewDate, options),
    ...uniqueIds(doc.assessedNeeds, (i) => `/assessedNeeds/${i}`, 'need'),
    ...uniqueIds(doc.goals, (i) => `/goals/${i}`, 'goal'),
    ...uniqueIds(steps, (i) => steps[i]!.pointer, 'step'),
    ...uniqueIds(doc.services, (i) => `/services/${i}`, 'service'),
    ...uniqueIds(doc.naturalSupports ?? [], (i) => `/naturalSupports/${i}`, 'natural support'),
    ...uniqueIds(doc.risks, (i) => `/risks/${i}`, 'risk'),
    ...uniqueIds(doc.rightsModifications ?? [], (i) => `/rightsModifications/${i}`, 'rights modification'),
    ...doc.goals.flatMap((g, i) => knownIds(g.addressesNeeds, needIds, `/goals/${i}/addressesNeeds`, 'need')),
    ...doc.services.flatMap((s, i) => [...knownIds(s.goals, goalIds, `/services/${i}/goals`, 'goal'), ...periodOrder(`/services/${i}/period`, s.period)]),
    ...(doc.naturalSupports ?? []).flatMap((s, i) => knownIds(s.goals, goalIds, `/naturalSupports/${i}/goals`, 'goal')),
    ...consentByDecisionMaker(doc),
    ...assessmentResult(doc),
  ];
}

/** The functional assessment records a result (tier or level of care), not just that it happened. */
function assessmentResult(doc: PcspDocument): DocumentProblem[] {
  const { tier, levelOfCare } = doc.functionalAssessment;
  return tier === undefined && levelOfCare === undefined
    ? [problem('/functionalAssessment', 'assessment-result', '/functionalAssessment needs a result: a tier (0-5) or a levelOfCare.')]
    : [];
}

/** Consent "given by the decision maker" needs one named (K.A.R. 30-63-21(a)(1)(B): the guardian takes part). */
function consentByDecisionMaker(doc: PcspDocument): DocumentProblem[] {
  if (doc.decisionMaker) {
    return [];
  }
  const consents = [
    { pointer: '/informedConsent/givenBy', consent: doc.informedConsent },
    ...(doc.rightsModifications ?? []).map((m, i) => ({ pointer: `/rightsModifications/${i}/informedConsent/givenBy`, consent: m.informedConsent })),
  ];
  return consents
    .filter((c) => c.consent.givenBy === 'decision-maker')
    .map((c) => problem(c.pointer, 'decision-maker', `${c.pointer} is "decision-maker" but the plan names no /decisionMaker.`));
}

function bspRules(doc: BspDocument, options: DocumentRuleOptions): DocumentProblem[] {
  const behaviorIds = new Set(doc.targetBehaviors.map((b) => b.id));
  const interventions = doc.restrictiveInterventions ?? [];
  return [
    ...periodOrder('/effectivePeriod', doc.effectivePeriod),
    ...reviewInterval('/nextReviewDate', doc.effectivePeriod.start, doc.nextReviewDate, options),
    ...uniqueIds(doc.targetBehaviors, (i) => `/targetBehaviors/${i}`, 'target behavior'),
    ...uniqueIds(doc.positiveSupports, (i) => `/positiveSupports/${i}`, 'positive support'),
    ...uniqueIds(interventions, (i) => `/restrictiveInterventions/${i}`, 'restrictive intervention'),
    ...uniqueIds(doc.prnMedications ?? [], (i) => `/prnMedications/${i}`, 'PRN medication'),
    ...doc.positiveSupports.flatMap((s, i) => knownIds(s.behaviors, behaviorIds, `/positiveSupports/${i}/behaviors`, 'target behavior')),
    ...interventions.flatMap((r, i) => [
      ...knownIds(r.behaviors, behaviorIds, `/restrictiveInterventions/${i}/behaviors`, 'target behavior'),
      ...restrictiveTimeLimit(r.reviewBy, r.committeeApproval.date, r.informedConsent.date, `/restrictiveInterventions/${i}`),
    ]),
  ];
}

/**
 * K.A.R. 30-63-23(a): safeguards (consent, committee review) come before a restrictive
 * intervention starts; 441.301(c)(4)(vi)(F)(6) requires a time limit. So the limit must fall after
 * both the approval and the consent.
 */
function restrictiveTimeLimit(timeLimit: string, approved: string, consented: string, pointer: string): DocumentProblem[] {
  const latestSafeguard = approved > consented ? approved : consented;
  return timeLimit <= latestSafeguard
    ? [problem(`${pointer}/reviewBy`, 'time-limit', `${pointer}/reviewBy (${timeLimit}) must be after the committee approval and the informed consent (${latestSafeguard}).`)]
    : [];
}

function ispRules(doc: IspDocument, options: DocumentRuleOptions): DocumentProblem[] {
  const needIds = new Set(doc.needs.map((n) => n.id));
  const goalIds = new Set(doc.goals.map((g) => g.id));
  return [
    ...periodOrder('/effectivePeriod', doc.effectivePeriod),
    ...reviewInterval('/nextReviewDate', doc.effectivePeriod.start, doc.nextReviewDate, options),
    ...uniqueIds(doc.needs, (i) => `/needs/${i}`, 'need'),
    ...uniqueIds(doc.goals, (i) => `/goals/${i}`, 'goal'),
    ...uniqueIds(doc.authorizedServices, (i) => `/authorizedServices/${i}`, 'authorized service'),
    ...uniqueIds(doc.nonMedicaidResources ?? [], (i) => `/nonMedicaidResources/${i}`, 'resource'),
    ...uniqueIds(doc.primaryCare.conditions, (i) => `/primaryCare/conditions/${i}`, 'condition'),
    ...uniqueIds(doc.primaryCare.medications ?? [], (i) => `/primaryCare/medications/${i}`, 'medication'),
    ...uniqueIds(doc.primaryCare.transitions ?? [], (i) => `/primaryCare/transitions/${i}`, 'transition'),
    ...doc.goals.flatMap((g, i) => knownIds(g.addressesNeeds, needIds, `/goals/${i}/addressesNeeds`, 'need')),
    ...doc.authorizedServices.flatMap((s, i) => [
      ...knownIds(s.goals, goalIds, `/authorizedServices/${i}/goals`, 'goal'),
      ...periodOrder(`/authorizedServices/${i}/authorizedPeriod`, s.authorizedPeriod),
    ]),
  ];
}

/** Cross-field rules for a schema-valid document. */
export function checkDocumentRules(doc: PlanDocument, options: DocumentRuleOptions = defaultDocumentRuleOptions): DocumentProblem[] {
  switch (doc.documentType) {
    case 'pcsp':
      return pcspRules(doc, options);
    case 'bsp':
      return bspRules(doc, options);
    case 'isp':
      return ispRules(doc, options);
  }
}
