import type { Condition, Flag, Goal, MedicationStatement, Observation, Patient, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { codeSystem, externalSystem, profileUrl } from '../canonical.ts';
import { assessedNeedFrom } from '../mapping/assessed-needs.ts';
import { codeIn, containedById, professionalFrom, providerFrom } from '../mapping/fhir-elements.ts';
import { compact, nonEmpty } from '../mapping/optional-fields.ts';
import { mcoOf, nextReviewDateOf, waiverOf } from '../mapping/plan-extensions.ts';
import { goalIdsOf } from '../mapping/plan-goals.ts';
import { personReferenceFrom } from '../mapping/plan-person.ts';
import { StoredResources, effectivePeriodOf, itemIdOf, ofKind, referencedPlanId, requireValue, storedPlanId } from '../mapping/stored-plan.ts';
import type { ServiceUnit } from '../common-types.ts';
import type { AuthorizedService, CareTransition, HighRiskFlag, IspDocument, IspNeed } from './isp-types.ts';

/** Stored resources → the ISP document (inverse of isp-to-fhir.ts). */

function authorizedServiceFrom(request: ServiceRequest, stored: StoredResources): AuthorizedService {
  return {
    id: itemIdOf(request),
    serviceCode: requireValue(request.code?.coding?.find((c) => c.system === externalSystem.hcpcs)?.code, 'a HCPCS code'),
    name: requireValue(request.code?.text, 'a service name'),
    authorizationNumber: requireValue(
      request.identifier?.find((i) => codeIn(i.type, codeSystem.identifierType) === 'authorization-number')?.value,
      'an authorization number',
    ),
    units: { quantity: requireValue(request.quantityQuantity?.value, 'authorized units'), unit: requireValue(request.quantityQuantity?.code, 'a unit') as ServiceUnit },
    authorizedPeriod: {
      start: requireValue(request.occurrencePeriod?.start, 'the authorization start'),
      end: requireValue(request.occurrencePeriod?.end, 'the authorization end'),
    },
    provider: providerFrom(request.performer?.[0]),
    goals: goalIdsOf(request.extension, stored),
  };
}

function transitionFrom(task: Task): CareTransition {
  const input = (code: string): NonNullable<Task['input']>[number] | undefined => task.input?.find((i) => codeIn(i.type, codeSystem.planElement) === code);
  return {
    id: itemIdOf(task),
    type: requireValue(input('transition-type')?.valueCode, 'the transition type') as CareTransition['type'],
    date: requireValue(task.authoredOn, 'the transition date').slice(0, 10),
    facility: requireValue(input('transition-facility')?.valueString, 'the facility'),
    followUp: requireValue(task.description, 'the follow-up'),
    followUpStatus: task.status as CareTransition['followUpStatus'],
  };
}

export function mapResourcesToIsp(resources: readonly Resource[], planId?: string): IspDocument {
  const stored = new StoredResources(resources);
  const plan = stored.carePlan(planId, profileUrl.ispCarePlan);
  const supporting = stored.resolveAll<Resource>(plan.supportingInfo);
  const activities = stored.resolveAll<Resource>((plan.activity ?? []).map((a) => a.reference));
  const assessment = requireValue(ofKind<Observation>(supporting, 'Observation', 'observation')[0], 'the health needs assessment');
  const basedOn = (plan.basedOn ?? []).map((ref) => referencedPlanId(ref, stored));
  const contributor = plan.contributor?.[0];
  return compact({
    documentType: 'isp' as const,
    schemaVersion: '1.0' as const,
    planId: storedPlanId(plan),
    status: plan.status as IspDocument['status'],
    waiver: requireValue(waiverOf(plan.extension), 'the waiver') as IspDocument['waiver'],
    mco: requireValue(mcoOf(plan.extension), 'the MCO') as IspDocument['mco'],
    person: personReferenceFrom(stored.resolve<Patient>(plan.subject)),
    pcspPlanId: requireValue(basedOn[0], 'the PCSP the ISP is based on'),
    bspPlanId: basedOn[1],
    careCoordinator: professionalFrom(plan, plan.author),
    targetedCaseManager: contributor && containedById(plan, contributor) ? professionalFrom(plan, contributor) : undefined,
    effectivePeriod: effectivePeriodOf(plan),
    nextReviewDate: nextReviewDateOf(plan),
    healthNeedsAssessment: { date: requireValue(assessment.effectiveDateTime, 'the assessment date').slice(0, 10), summary: requireValue(assessment.valueString, 'the summary') },
    needs: stored.resolveAll<Condition>(plan.addresses).map((c): IspNeed => {
      const { id, description, domain } = assessedNeedFrom(c);
      return { id, description, category: domain as IspNeed['category'] };
    }),
    goals: stored.resolveAll<Goal>(plan.goal).map((g) =>
      compact({
        id: itemIdOf(g),
        description: requireValue(g.description.text, 'a goal'),
        targetDate: g.target?.[0]?.dueDate,
        addressesNeeds: stored.resolveAll<Condition>(g.addresses).map(itemIdOf),
      }),
    ),
    authorizedServices: ofKind<ServiceRequest>(activities, 'ServiceRequest', 'authorized-service').map((r) => authorizedServiceFrom(r, stored)),
    nonMedicaidResources: nonEmpty(
      ofKind<ServiceRequest>(activities, 'ServiceRequest', 'non-medicaid-resource').map((r) => ({
        id: itemIdOf(r),
        description: requireValue(r.code?.text, 'a resource description'),
        source: requireValue(r.performer?.[0]?.display, 'a resource source'),
      })),
    ),
    primaryCare: compact({
      conditions: ofKind<Condition>(supporting, 'Condition', 'condition').map((c) =>
        compact({ id: itemIdOf(c), description: requireValue(c.code?.text, 'a condition'), icd10: c.code?.coding?.find((x) => x.system === externalSystem.icd10cm)?.code }),
      ),
      medications: nonEmpty(
        ofKind<MedicationStatement>(supporting, 'MedicationStatement', 'medication').map((m) =>
          compact({ id: itemIdOf(m), name: requireValue(m.medicationCodeableConcept?.text, 'a medication'), dosage: m.dosage?.[0]?.text }),
        ),
      ),
      transitions: nonEmpty(ofKind<Task>(supporting, 'Task', 'transition').map(transitionFrom)),
      highRiskFlags: nonEmpty(ofKind<Flag>(supporting, 'Flag', 'high-risk-flag').map((f) => itemIdOf(f) as HighRiskFlag)),
    }),
  } satisfies IspDocument);
}
