import type { Condition, Flag, Goal, MedicationStatement, Observation, Patient, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { codeSystem, extensionUrl, externalSystem, identifierSystem, profileUrl } from './canonical.ts';
import { codeIn, containedById, extensionValue, extensionsOf, professionalFrom, requireValue } from './fhir-elements.ts';
import { personReferenceFrom } from './fhir-to-bsp.ts';
import { compact, nonEmpty } from './fhir-to-pcsp.ts';
import { StoredResources, itemIdOf, itemKindOf, referencedPlanId } from './stored-plan.ts';
import type { AuthorizedService, CareTransition, HighRiskFlag, IspDocument, IspNeed, ServiceUnit } from './types.ts';

/** Stored resources → the ISP document (inverse of isp-to-fhir.ts). */

function ofKind<T extends Resource>(resources: readonly Resource[], type: T['resourceType'], kind: string): T[] {
  return resources.filter((r): r is T => r.resourceType === type && itemKindOf(r) === kind);
}

function authorizedServiceFrom(request: ServiceRequest, stored: StoredResources): AuthorizedService {
  const performer = request.performer?.[0];
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
    provider: compact({ name: requireValue(performer?.display, 'a provider name'), kmmsId: performer?.identifier?.value }),
    goals: extensionsOf(request.extension, extensionUrl.pertainsToGoal).map((e) => itemIdOf(requireValue(stored.resolve<Goal>(e.valueReference), 'a goal'))),
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
  const code = (url: string, system: string): string | undefined => codeIn(extensionValue(plan.extension, url)?.valueCodeableConcept, system);
  return compact({
    documentType: 'isp' as const,
    schemaVersion: '1.0' as const,
    planId: requireValue(plan.identifier?.find((i) => i.system === identifierSystem.planId)?.value, 'the plan id'),
    status: plan.status as IspDocument['status'],
    waiver: requireValue(code(extensionUrl.waiverProgram, codeSystem.waiverProgram), 'the waiver') as IspDocument['waiver'],
    mco: requireValue(code(extensionUrl.mco, codeSystem.mco), 'the MCO') as IspDocument['mco'],
    person: personReferenceFrom(stored.resolve<Patient>(plan.subject)),
    pcspPlanId: requireValue(basedOn[0], 'the PCSP the ISP is based on'),
    bspPlanId: basedOn[1],
    careCoordinator: professionalFrom(plan, plan.author),
    targetedCaseManager: contributor && containedById(plan, contributor) ? professionalFrom(plan, contributor) : undefined,
    effectivePeriod: { start: requireValue(plan.period?.start, 'the plan start'), end: requireValue(plan.period?.end, 'the plan end') },
    nextReviewDate: requireValue(extensionValue(plan.extension, extensionUrl.reviewDueDate)?.valueDate, 'the next review date'),
    healthNeedsAssessment: { date: requireValue(assessment.effectiveDateTime, 'the assessment date').slice(0, 10), summary: requireValue(assessment.valueString, 'the summary') },
    needs: stored.resolveAll<Condition>(plan.addresses).map(
      (c): IspNeed => ({ id: itemIdOf(c), description: requireValue(c.code?.text, 'a need'), category: codeIn(c.category, codeSystem.needDomain) as IspNeed['category'] }),
    ),
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
