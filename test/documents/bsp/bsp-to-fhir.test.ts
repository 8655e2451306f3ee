import type { Condition, Consent, MedicationRequest, Observation, ServiceRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { extensionUrl, identifierSystem, profileUrl } from '../../../src/documents/canonical.ts';
import { planBspResources } from '../../../src/documents/bsp/bsp-to-fhir.ts';
import type { BspDocument } from '../../../src/documents/bsp/bsp-types.ts';
import { readExample } from '../examples.ts';
import { components, item, plan, refOf, subExtensions } from '../planned-resources.ts';

/**
 * Where each content element issue 6 lists ends up in FHIR. The round-trip tests prove nothing is
 * lost; these prove it lands where an EHR or MCO system reading FHIR looks for it (the eLTSS paths
 * of standards.md §1.4 and the Kansas profiles), so a change made to both mappers at once cannot
 * quietly move an element somewhere nobody reads.
 */


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
