import type { CarePlan, CodeableConcept, Patient, PractitionerRole, Reference, RelatedPerson, Task } from '@medplum/fhirtypes';
import type { FhirApi } from './fhir-api.ts';

/** The Kansas guide's code systems and extensions the app reads and writes (profiles/input). */
export const KS = {
  taskType: 'https://kanplan.org/fhir/CodeSystem/ks-task-type',
  practitionerRole: 'https://kanplan.org/fhir/CodeSystem/ks-practitioner-role',
  planType: 'https://kanplan.org/fhir/CodeSystem/ks-plan-type',
  identifierType: 'https://kanplan.org/fhir/CodeSystem/ks-identifier-type',
  serviceUnit: 'https://kanplan.org/fhir/CodeSystem/ks-service-unit',
  mcoExtension: 'https://kanplan.org/fhir/StructureDefinition/ks-mco',
  authorizedService: 'https://kanplan.org/fhir/StructureDefinition/ks-authorized-service',
  authorizationDecision: 'https://kanplan.org/fhir/StructureDefinition/ks-authorization-decision',
  authorizationDecisionReason: 'https://kanplan.org/fhir/CodeSystem/ks-authorization-decision-reason',
  planSignatures: 'https://kanplan.org/fhir/StructureDefinition/ks-plan-signatures',
  signerRole: 'https://kanplan.org/fhir/CodeSystem/ks-signer-role',
  planElement: 'https://kanplan.org/fhir/CodeSystem/ks-plan-element',
  organizationType: 'https://kanplan.org/fhir/CodeSystem/ks-organization-type',
} as const;

export const TASK_TYPE_WORDS: Record<string, string> = {
  'notify-change-of-needs': 'Change of needs',
  'update-isp': 'Update the ISP',
  'plan-review-due': 'Plan review due',
  referral: 'Referral',
  'ane-report': 'ANE report',
  'iep-participation': 'IEP participation',
  'informal-support-linkage': 'Informal support linkage',
  'transition-follow-up': 'Transition follow-up',
};

export const PLAN_TYPE_WORDS: Record<string, string> = { pcsp: 'PCSP (person-centered service plan)', bsp: 'BSP (behavior support plan)', isp: 'ISP (integrated service plan)', 'backup-plan': 'Backup plan' };

export function codeIn(concept: CodeableConcept | undefined, system: string): string | undefined {
  return concept?.coding?.find((c) => c.system === system)?.code;
}

export function taskType(task: Task): string | undefined {
  return codeIn(task.code, KS.taskType);
}

export function planType(plan: CarePlan): string | undefined {
  for (const category of plan.category ?? []) {
    const code = codeIn(category, KS.planType);
    if (code) return code;
  }
  return undefined;
}

export function conceptText(concept: CodeableConcept | undefined): string {
  return concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? concept?.coding?.[0]?.code ?? '';
}

export function personName(patient: { name?: Patient['name'] } | undefined): string {
  const name = patient?.name?.[0];
  if (!name) return 'Unnamed person';
  return name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(' ');
}

/** Who is signed in, as the app needs it: what to show first and which actions to offer. */
export type Role = 'tcm' | 'cc' | 'provider' | 'guardian' | 'person' | 'other';

export interface SignedIn {
  readonly role: Role;
  readonly fhirUser?: string;
  readonly name: string;
  /** The organization a PractitionerRole works for: Tasks owned by it are this user's too. */
  readonly organization?: string;
  /** The person a guardian speaks for, or the person themself. */
  readonly person?: string;
}

const ROLE_OF_CODE: Record<string, Role> = { 'targeted-case-manager': 'tcm', 'mco-care-coordinator': 'cc', 'hcbs-provider': 'provider' };

export const ROLE_WORDS: Record<Role, string> = { tcm: 'Targeted case manager', cc: 'Care coordinator', provider: 'Provider', guardian: 'Guardian', person: 'Person', other: 'Signed in' };

export async function whoIsSignedIn(api: FhirApi, claim: string | undefined): Promise<SignedIn> {
  if (!claim) return { role: 'other', name: 'Signed in' };
  // fhirUser may be absolute (SMART App Launch: the URL of the user's resource): its last two segments name it.
  const [type, id] = claim.split('/').slice(-2);
  const fhirUser = `${type}/${id}`;
  try {
    if (type === 'PractitionerRole') {
      // One request for the role and its practitioner's name: the work list waits for it.
      const { matches, included } = await api.searchWithIncludes<PractitionerRole>(`PractitionerRole?_id=${encodeURIComponent(id ?? '')}&_include=PractitionerRole:practitioner`);
      const role = matches[0];
      if (!role) throw new Error(`${fhirUser} was not found`);
      const code = role.code?.map((c) => codeIn(c, KS.practitionerRole)).find(Boolean);
      const practitioner = included.get(role.practitioner?.reference ?? '') as { name?: Patient['name'] } | undefined;
      return { role: (code ? ROLE_OF_CODE[code] : undefined) ?? 'other', fhirUser, organization: role.organization?.reference, name: practitioner ? personName(practitioner) : (role.practitioner?.display ?? 'Signed in') };
    }
    if (type === 'RelatedPerson') {
      const related = await api.read<RelatedPerson>(fhirUser);
      return { role: 'guardian', fhirUser, person: related.patient?.reference, name: personName(related) };
    }
    if (type === 'Patient') return { role: 'person', fhirUser, person: fhirUser, name: personName(await api.read<Patient>(fhirUser)) };
  } catch {
    // The user's own resource may be outside the token's scopes: the app still works, without a name.
  }
  return { role: 'other', fhirUser, name: 'Signed in' };
}

export function referenceOf(reference: Reference | undefined): string | undefined {
  return reference?.reference;
}

/** When a Task is due: an ANE report's reporting deadline (restriction.period.end), else its execution period's end. */
export function dueOf(task: Task): string | undefined {
  return task.restriction?.period?.end ?? task.executionPeriod?.end;
}

export function isOverdue(task: Task, now = Date.now()): boolean {
  const due = dueOf(task);
  return due !== undefined && Date.parse(due) < now;
}
