import fc from 'fast-check';
import type { BspDocument } from '../../src/documents/bsp/bsp-types.ts';
import type { IspDocument } from '../../src/documents/isp/isp-types.ts';
import type { PcspDocument } from '../../src/documents/pcsp/pcsp-types.ts';

/**
 * fast-check arbitraries for documents that pass their schema and rules by construction: free
 * text includes XML-special and non-ASCII characters (for the narrative), ids are unique, every
 * reference points at a defined item, review dates fall within 12 months.
 */

const text = fc
  .string({ unit: fc.constantFrom('a', 'B', ' ', '<', '>', '&', '"', "'", 'é', '—', '😀', '1', '/', '\\'), minLength: 1, maxLength: 24 })
  .filter((s) => /\S/.test(s));
const shortText = text;
const itemId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,8}$/);
const ids = (min: number, max: number) => fc.uniqueArray(itemId, { minLength: min, maxLength: max });
const textList = fc.array(text, { minLength: 1, maxLength: 3 });
const dayMs = 86_400_000;
const baseDay = Date.UTC(2020, 0, 1) / dayMs;
const isoDay = (day: number): string => new Date(day * dayMs).toISOString().slice(0, 10);
const date = fc.integer({ min: 0, max: 3000 }).map((d) => isoDay(baseDay + d));
const status = fc.constantFrom('draft', 'active', 'on-hold', 'completed', 'revoked' as const);
const waiver = fc.constantFrom('FE', 'PD', 'IDD', 'SED', 'BI', 'TA', 'AU' as const);
const name = fc.record({ given: fc.array(shortText, { minLength: 1, maxLength: 2 }), family: shortText });
const phone = fc.stringMatching(/^[0-9]{3}-555-[0-9]{4}$/);
const professional = fc.record({ name: shortText, organization: shortText, phone: phone }, { requiredKeys: ['name', 'organization'] });
const consent = (givenBy: fc.Arbitrary<'person' | 'decision-maker'>) => fc.record({ givenBy, date });
const unit = fc.constantFrom('15-min', 'hour', 'day', 'month', 'visit', 'item' as const);
const hcpcs = fc.stringMatching(/^[A-Z][0-9]{4}$/);
const provider = fc.record({ name: shortText, kmmsId: fc.stringMatching(/^[A-Z0-9-]{1,12}$/) }, { requiredKeys: ['name'] });

/** An effective period of 1 to 365 days and a review date within 12 months of its start. */
const planDates = fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 365 }), fc.integer({ min: 0, max: 360 })).map(([start, length, review]) => ({
  effectivePeriod: { start: isoDay(baseDay + start), end: isoDay(baseDay + start + length) },
  nextReviewDate: isoDay(baseDay + start + review),
}));

/** Documents arrive as JSON: plain prototypes (fast-check may build null-prototype records). */
function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function someOf<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc.subarray([...items], { minLength: 1 });
}

export const pcspDocument: fc.Arbitrary<PcspDocument> = fc
  .record({ needIds: ids(1, 3), goalIds: ids(1, 3), stepIds: ids(0, 3), serviceIds: ids(0, 3), supportIds: ids(0, 2), riskIds: ids(0, 2), modIds: ids(0, 2), hasDecisionMaker: fc.boolean() })
  .chain(({ needIds, goalIds, stepIds, serviceIds, supportIds, riskIds, modIds, hasDecisionMaker }) => {
    const givenBy = hasDecisionMaker ? fc.constantFrom('person', 'decision-maker' as const) : fc.constant('person' as const);
    const goals = fc.tuple(
      ...goalIds.map((id, index) =>
        fc.record(
          {
            id: fc.constant(id),
            description: text,
            desiredOutcome: text,
            targetDate: date,
            addressesNeeds: someOf(needIds),
            // Steps are spread over goals; ids stay unique across the plan.
            steps: fc.constant(stepIds.filter((_, s) => s % goalIds.length === index).map((sid) => ({ id: sid, description: 'Do the step', responsible: 'Staff' }))),
          },
          { requiredKeys: ['id', 'description', 'addressesNeeds'] },
        ).map((g) => (g.steps && g.steps.length === 0 ? (({ steps: _s, ...rest }) => rest)(g) : g)),
      ),
    );
    return fc.record(
      {
        documentType: fc.constant('pcsp' as const),
        schemaVersion: fc.constant('1.0' as const),
        planId: itemId,
        status,
        waiver,
        person: fc.record(
          {
            medicaidId: fc.stringMatching(/^KS-TEST-[0-9]{7}$/),
            name,
            birthDate: date,
            gender: fc.constantFrom('female', 'male', 'other', 'unknown' as const),
            phone,
            address: fc.record({ line: fc.array(shortText, { minLength: 1, maxLength: 2 }), city: shortText, state: fc.constant('KS'), postalCode: fc.constant('66603'), county: shortText }, { requiredKeys: ['line', 'city', 'state', 'postalCode'] }),
            preferredLanguage: fc.constantFrom('en', 'es', 'vi'),
          },
          { requiredKeys: ['medicaidId', 'name', 'birthDate', 'gender'] },
        ),
        decisionMaker: hasDecisionMaker
          ? fc.record({ name, relationship: fc.constantFrom('guardian', 'parent', 'durable-power-of-attorney', 'healthcare-power-of-attorney' as const), phone }, { requiredKeys: ['name', 'relationship'] })
          : fc.constant(undefined),
        supportPlanner: fc.record({ name: shortText, organization: shortText, phone, role: fc.constantFrom('targeted-case-manager', 'mco-care-coordinator' as const) }, { requiredKeys: ['name', 'organization', 'role'] }),
        dates: planDates,
        preferredLifestyle: fc.record({
          livingSetting: text,
          settingChosenByPerson: fc.boolean(),
          alternativeSettingsConsidered: textList,
          livesWith: text,
          workOrValuedActivity: text,
          socializesWith: text,
          communityActivities: textList,
        }),
        strengths: textList,
        preferences: textList,
        communicationMethods: textList,
        functionalAssessment: fc.oneof(
          fc.record({ instrument: fc.constantFrom('basis', 'mfei-idd' as const), date, tier: fc.integer({ min: 0, max: 5 }), assessor: shortText }, { requiredKeys: ['instrument', 'date', 'tier'] }),
          fc.record({ instrument: fc.constantFrom('mfei', 'interrai', 'vineland-ii', 'other' as const), date, levelOfCare: shortText }),
          fc.record({ instrument: fc.constant('mfei' as const), date, tier: fc.integer({ min: 0, max: 5 }), levelOfCare: shortText }),
        ),
        assessedNeeds: fc.tuple(...needIds.map((id) => fc.record({ id: fc.constant(id), description: text, domain: fc.constantFrom('daily-living', 'health', 'safety', 'employment' as const) }))),
        goals,
        services: fc.tuple(
          ...serviceIds.map((id) =>
            fc.record(
              {
                id: fc.constant(id),
                serviceCode: hcpcs,
                name: shortText,
                amount: fc.record({ quantity: fc.integer({ min: 1, max: 500 }), unit, per: fc.constantFrom('day', 'week', 'month', 'year' as const) }, { requiredKeys: ['quantity', 'unit'] }),
                period: fc.integer({ min: 0, max: 2000 }).chain((s) => fc.record({ start: fc.constant(isoDay(baseDay + s)), end: fc.constant(isoDay(baseDay + s + 30)) }, { requiredKeys: ['start'] })),
                provider,
                location: text,
                selfDirected: fc.boolean(),
                fundingSource: fc.constantFrom('medicaid-waiver', 'medicaid-state-plan', 'private', 'other' as const),
                goals: someOf(goalIds),
                comment: text,
              },
              { requiredKeys: ['id', 'serviceCode', 'name', 'amount', 'period', 'provider', 'selfDirected', 'fundingSource', 'goals'] },
            ),
          ),
        ),
        naturalSupports: supportIds.length === 0 ? fc.constant(undefined) : fc.tuple(...supportIds.map((id) => fc.record({ id: fc.constant(id), description: text, supporter: fc.record({ name: shortText, relationship: shortText }), goals: someOf(goalIds) }))),
        risks: fc.tuple(...riskIds.map((id) => fc.record({ id: fc.constant(id), description: text, mitigation: text }))),
        backupPlan: text,
        rightsModifications:
          modIds.length === 0
            ? fc.constant(undefined)
            : fc.tuple(
                ...modIds.map((id) =>
                  fc.record({
                    id: fc.constant(id),
                    rightModified: text,
                    assessedNeed: text,
                    positiveInterventionsUsed: text,
                    lessIntrusiveMethodsTried: text,
                    conditionDescription: text,
                    dataCollection: text,
                    reviewBy: date,
                    informedConsent: consent(givenBy),
                    noHarmAssurance: fc.constant(true as const),
                  }),
                ),
              ),
        iepParticipation: fc.option(fc.record({ school: shortText, iepMeetingDate: date, caseManagerRole: text }), { nil: undefined }),
        monitor: professional,
        participants: fc.array(fc.record({ name: shortText, role: fc.constantFrom('person', 'family', 'friend', 'teacher', 'other' as const) }), { minLength: 1, maxLength: 3 }),
        informedConsent: consent(givenBy),
        signatures: fc.array(fc.record({ name: shortText, role: fc.constantFrom('person', 'targeted-case-manager', 'care-coordinator', 'provider' as const), date, method: fc.constantFrom('written', 'electronic' as const) }), { minLength: 1, maxLength: 3 }),
        distribution: fc.array(fc.record({ name: shortText, role: fc.constantFrom('person', 'provider', 'family' as const), method: fc.constantFrom('mail', 'email', 'portal', 'in-person' as const), date }), { minLength: 1, maxLength: 2 }),
      },
    );
  })
  .map((raw) => {
    const { dates, ...rest } = raw as typeof raw & { dates: { effectivePeriod: { start: string; end: string }; nextReviewDate: string } };
    const doc = { ...rest, effectivePeriod: dates.effectivePeriod, nextReviewDate: dates.nextReviewDate } as Record<string, unknown>;
    for (const key of Object.keys(doc)) {
      if (doc[key] === undefined) {
        delete doc[key];
      }
    }
    return asJson(doc as unknown as PcspDocument);
  });

export const bspDocument = (pcspPlanId: string, medicaidPerson: BspDocument['person']): fc.Arbitrary<BspDocument> =>
  fc.record({ behaviorIds: ids(1, 3), supportIds: ids(1, 3), interventionIds: ids(0, 2), prnIds: ids(0, 2) }).chain(({ behaviorIds, supportIds, interventionIds, prnIds }) =>
    fc
      .record({
        planId: itemId.map((id) => `BSP-${id}`),
        status,
        waiver,
        author: professional,
        dates: planDates,
        targetBehaviors: fc.tuple(...behaviorIds.map((id) => fc.record({ id: fc.constant(id), name: shortText, operationalDefinition: text }))),
        functionalAssessmentSummary: fc.record({ date, summary: text }),
        positiveSupports: fc.tuple(...supportIds.map((id) => fc.record({ id: fc.constant(id), description: text, behaviors: someOf(behaviorIds) }))),
        environmentalAccommodations: textList,
        lessRestrictiveAlternativesTried: textList,
        restrictiveInterventions: fc.tuple(
          ...interventionIds.map((id) =>
            fc.record({
              id: fc.constant(id),
              type: fc.constantFrom('physical-restraint', 'seclusion', 'restricted-access', 'other' as const),
              description: text,
              behaviors: someOf(behaviorIds),
              risksBenefitsSideEffectsReviewed: text,
              informedConsent: fc.record({ givenBy: fc.constantFrom('person', 'decision-maker' as const), date: fc.constant('2026-01-01') }),
              committeeApproval: fc.record({ committee: shortText, date: fc.constant('2026-01-02') }),
              reviewBy: fc.constantFrom('2026-03-31', '2026-12-31'),
            }),
          ),
        ),
        prnMedications: fc.tuple(...prnIds.map((id) => fc.record({ id: fc.constant(id), medication: shortText, indication: text, prescriber: shortText, consent: fc.record({ givenBy: fc.constantFrom('person', 'decision-maker' as const), date }) }))),
        dataCollection: fc.record({ method: text, frequency: shortText, responsible: shortText }),
      })
      .map(({ dates, restrictiveInterventions, prnMedications, ...rest }) => asJson({
        documentType: 'bsp' as const,
        schemaVersion: '1.0' as const,
        ...rest,
        pcspPlanId,
        person: medicaidPerson,
        effectivePeriod: dates.effectivePeriod,
        nextReviewDate: dates.nextReviewDate,
        ...(restrictiveInterventions.length > 0 ? { restrictiveInterventions } : {}),
        ...(prnMedications.length > 0 ? { prnMedications } : {}),
      })),
  );

export const ispDocument = (pcspPlanId: string, medicaidPerson: IspDocument['person']): fc.Arbitrary<IspDocument> =>
  fc.record({ needIds: ids(1, 3), goalIds: ids(1, 2), serviceIds: ids(0, 2), conditionIds: ids(0, 2), medIds: ids(0, 2), transitionIds: ids(0, 2), nmIds: ids(0, 2) }).chain(
    ({ needIds, goalIds, serviceIds, conditionIds, medIds, transitionIds, nmIds }) =>
      fc
        .record({
          planId: itemId.map((id) => `ISP-${id}`),
          status,
          waiver,
          mco: fc.constantFrom('sunflower', 'uhc-community-plan', 'healthy-blue' as const),
          careCoordinator: professional,
          targetedCaseManager: fc.option(professional, { nil: undefined }),
          dates: planDates,
          healthNeedsAssessment: fc.record({ date, summary: text }),
          needs: fc.tuple(...needIds.map((id) => fc.record({ id: fc.constant(id), description: text, category: fc.constantFrom('physical-health', 'behavioral-health', 'social', 'long-term-services' as const) }))),
          goals: fc.tuple(...goalIds.map((id) => fc.record({ id: fc.constant(id), description: text, targetDate: date, addressesNeeds: someOf(needIds) }, { requiredKeys: ['id', 'description', 'addressesNeeds'] }))),
          authorizedServices: fc.tuple(
            ...serviceIds.map((id) =>
              fc.record({
                id: fc.constant(id),
                serviceCode: hcpcs,
                name: shortText,
                authorizationNumber: fc.stringMatching(/^AUTH-[0-9]{4}$/),
                units: fc.record({ quantity: fc.integer({ min: 1, max: 9000 }), unit }),
                authorizedPeriod: fc.constant({ start: '2026-01-01', end: '2026-12-31' }),
                provider,
                goals: someOf(goalIds),
              }),
            ),
          ),
          nonMedicaidResources: fc.tuple(...nmIds.map((id) => fc.record({ id: fc.constant(id), description: text, source: shortText }))),
          conditions: fc.tuple(...conditionIds.map((id) => fc.record({ id: fc.constant(id), description: text, icd10: fc.constantFrom('E11.9', 'F71', 'G40.909') }, { requiredKeys: ['id', 'description'] }))),
          medications: fc.tuple(...medIds.map((id) => fc.record({ id: fc.constant(id), name: shortText, dosage: text }, { requiredKeys: ['id', 'name'] }))),
          transitions: fc.tuple(
            ...transitionIds.map((id) =>
              fc.record({ id: fc.constant(id), type: fc.constantFrom('emergency-department', 'inpatient' as const), date, facility: shortText, followUp: text, followUpStatus: fc.constantFrom('requested', 'in-progress', 'completed' as const) }),
            ),
          ),
          highRiskFlags: fc.subarray(['environmental', 'medical', 'complex-physical-health', 'complex-behavioral-health'] as const),
        })
        .map(({ dates, nonMedicaidResources, conditions, medications, transitions, highRiskFlags, targetedCaseManager, ...rest }) => asJson({
          documentType: 'isp' as const,
          schemaVersion: '1.0' as const,
          ...rest,
          person: medicaidPerson,
          pcspPlanId,
          ...(targetedCaseManager ? { targetedCaseManager } : {}),
          effectivePeriod: dates.effectivePeriod,
          nextReviewDate: dates.nextReviewDate,
          ...(nonMedicaidResources.length > 0 ? { nonMedicaidResources } : {}),
          primaryCare: {
            conditions,
            ...(medications.length > 0 ? { medications } : {}),
            ...(transitions.length > 0 ? { transitions } : {}),
            ...(highRiskFlags.length > 0 ? { highRiskFlags: [...highRiskFlags] } : {}),
          },
        })),
  );
