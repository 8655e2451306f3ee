import type { Condition, Consent, Extension, MedicationRequest, Patient, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { extensionUrl, profileUrl } from '../canonical.ts';
import { componentString, componentStrings, extensionsOf, informedConsentFrom, professionalFrom } from '../mapping/fhir-elements.ts';
import { compact, nonEmpty } from '../mapping/optional-fields.ts';
import { nextReviewDateOf, waiverOf } from '../mapping/plan-extensions.ts';
import { personReferenceFrom } from '../mapping/plan-person.ts';
import { StoredResources, effectivePeriodOf, itemIdOf, itemKindOf, observationOfItem, referencedPlanId, requireValue, storedPlanId } from '../mapping/stored-plan.ts';
import type { BspDocument, PrnMedication, RestrictiveIntervention } from './bsp-types.ts';

/** Stored resources → the BSP document (inverse of bsp-to-fhir.ts). */

function sub(extension: Extension, url: string): Extension[] {
  return (extension.extension ?? []).filter((e) => e.url === url);
}

function restrictiveInterventionFrom(extension: Extension, stored: StoredResources): RestrictiveIntervention {
  const one = (url: string): Extension => requireValue(sub(extension, url)[0], `the ${url} of a restrictive intervention`);
  const consent = requireValue(stored.resolve<Consent>(one('consent').valueReference), 'a restrictive intervention consent');
  return {
    id: itemIdOf(consent),
    type: requireValue(one('interventionType').valueCode, 'the intervention type') as RestrictiveIntervention['type'],
    description: requireValue(one('description').valueString, 'the intervention description'),
    behaviors: sub(extension, 'targetBehavior').map((e) => itemIdOf(requireValue(stored.resolve<Condition>(e.valueReference), 'a target behavior'))),
    risksBenefitsSideEffectsReviewed: requireValue(one('risksBenefitsReviewed').valueString, 'the risks and benefits review'),
    informedConsent: informedConsentFrom(consent),
    committeeApproval: {
      committee: requireValue(one('committee').valueReference?.display, 'the committee'),
      date: requireValue(one('committeeApprovalDate').valueDate, 'the committee approval date'),
    },
    reviewBy: requireValue(one('reviewDate').valueDate, 'the review date'),
  };
}

function prnFrom(request: MedicationRequest, consents: readonly Consent[]): PrnMedication {
  const id = itemIdOf(request);
  const consent = consents.find((c) => itemKindOf(c) === 'prn-consent' && itemIdOf(c) === id);
  return {
    id,
    medication: requireValue(request.medicationCodeableConcept?.text, 'the medication'),
    indication: requireValue(request.dosageInstruction?.[0]?.asNeededCodeableConcept?.text, 'when the PRN medication may be given'),
    prescriber: requireValue(request.requester?.display, 'the prescriber'),
    consent: informedConsentFrom(consent),
  };
}

export function mapResourcesToBsp(resources: readonly Resource[], planId?: string): BspDocument {
  const stored = new StoredResources(resources);
  const plan = stored.carePlan(planId, profileUrl.bspCarePlan);
  const supporting = stored.resolveAll<Resource>(plan.supportingInfo);
  const activities = stored.resolveAll<Resource>((plan.activity ?? []).map((a) => a.reference));
  const fba = requireValue(observationOfItem(supporting, 'functional-behavior-assessment'), 'the functional behavior assessment');
  const context = observationOfItem(supporting, 'behavior-support-context');
  const data = observationOfItem(supporting, 'behavior-data-collection');
  const consents = supporting.filter((r): r is Consent => r.resourceType === 'Consent');
  const prnRequests = activities.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest');
  return compact({
    documentType: 'bsp' as const,
    schemaVersion: '1.0' as const,
    planId: storedPlanId(plan),
    status: plan.status as BspDocument['status'],
    waiver: requireValue(waiverOf(plan.extension), 'the waiver') as BspDocument['waiver'],
    pcspPlanId: requireValue(referencedPlanId(plan.partOf?.[0], stored), 'the PCSP the BSP is part of'),
    person: personReferenceFrom(stored.resolve<Patient>(plan.subject)),
    author: professionalFrom(plan, plan.author),
    effectivePeriod: effectivePeriodOf(plan),
    nextReviewDate: nextReviewDateOf(plan),
    targetBehaviors: stored.resolveAll<Condition>(plan.addresses).map((c) => ({
      id: itemIdOf(c),
      name: requireValue(c.code?.text, 'a behavior name'),
      operationalDefinition: requireValue(c.note?.[0]?.text, 'an operational definition'),
    })),
    functionalAssessmentSummary: { date: requireValue(fba.effectiveDateTime, 'the assessment date').slice(0, 10), summary: requireValue(fba.valueString, 'the assessment summary') },
    positiveSupports: activities
      .filter((r): r is ServiceRequest => r.resourceType === 'ServiceRequest' && itemKindOf(r) === 'positive-support')
      .map((r) => ({
        id: itemIdOf(r),
        description: requireValue(r.code?.text, 'a positive support'),
        behaviors: stored.resolveAll<Condition>(r.reasonReference).map(itemIdOf),
      })),
    environmentalAccommodations: componentStrings(context, 'environmental-accommodation'),
    lessRestrictiveAlternativesTried: componentStrings(context, 'less-restrictive-alternative'),
    restrictiveInterventions: nonEmpty(extensionsOf(plan.extension, extensionUrl.restrictiveIntervention).map((e) => restrictiveInterventionFrom(e, stored))),
    prnMedications: nonEmpty(prnRequests.map((r) => prnFrom(r, consents))),
    dataCollection: {
      method: componentString(data, 'data-collection-method'),
      frequency: componentString(data, 'data-collection-frequency'),
      responsible: componentString(data, 'data-collection-responsible'),
    },
  } satisfies BspDocument);
}
