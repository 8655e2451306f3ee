import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { kansasRoleOf } from '../workflow/kansas-workflow.ts';
import { restrictedTaskCriteria, type WorkflowActor } from '../workflow/role-rules.ts';
import { SYSTEM_ACCESS, type AccessContext } from './access.ts';
import type { Permission, ScopeGrant } from './scopes.ts';

/**
 * What a caller's SMART scopes allow on one resource type for one permission
 * (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html), as plain data the
 * FHIR tier enforces on every interaction (src/fhir/access/): denied, allowed on every resource of
 * the type, or allowed only on the resources inside one of the grant's confinements.
 */
export type AccessDecision =
  | { readonly kind: 'denied'; readonly reason: string; /** A scope that would allow it, for the 403's bearer challenge. */ readonly scope: string }
  | { readonly kind: 'unconfined' }
  | { readonly kind: 'confined'; readonly confinements: readonly Confinement[] };

/**
 * Where one grant reaches: a resource is covered when it is in one of `patients`' Patient
 * compartments (https://hl7.org/fhir/R4/compartmentdefinition-patient.html) — when set — and
 * matches `criteria` — when set. Several confinements of one type are alternatives: a resource any
 * of them covers is allowed (SMART: scopes add up).
 */
export interface Confinement {
  /** Patient ids whose compartments the resource must be in; undefined: any resource. An empty list covers nothing. */
  readonly patients?: readonly string[];
  /** v2 criteria, a search query without `?`; undefined: no criteria. */
  readonly criteria?: string;
  /** The scope this confinement comes from, for messages. */
  readonly scope: string;
}

/**
 * The caller with what their identity confines `user/` scopes to. `userPatients` undefined: user
 * scopes are not confined by identity (practitioners, role-holders, no fhirUser). The role rules
 * of the workflow issue refine exactly this: they will turn a PractitionerRole into the patients
 * (or Tasks) the role may reach, and `userConfinementOf` is where they plug in.
 */
export interface Caller {
  readonly access: AccessContext;
  /** Who acts, for the role rules (src/workflow/role-rules.ts). */
  readonly actor: WorkflowActor;
  readonly userPatients?: readonly string[];
  /** Why user/ scopes give nothing, when the identity could not be resolved (e.g. a RelatedPerson without patient). */
  readonly userNote?: string;
}

/** Reads one current resource (unconfined): how the policy learns who a RelatedPerson speaks for. */
export type ResourceLookup = (
  resourceType: string,
  id: string,
) => Promise<
  | {
      readonly resourceType: string;
      readonly patient?: { readonly reference?: string };
      readonly organization?: { readonly reference?: string };
      readonly code?: readonly { readonly coding?: readonly { readonly system?: string; readonly code?: string }[] }[];
    }
  | undefined
>;

/**
 * Types that are no person's data: directories and definitions. A patient-confined grant covers
 * reading and searching them, since an app showing a person's plan must show who provides it and
 * what its codes mean. Every other type outside the Patient compartment (Binary, Device …) but the
 * PERSON_LINKED_TYPES is covered by no confined grant.
 */
const SHARED_TYPES: ReadonlySet<string> = new Set([
  'Practitioner', 'PractitionerRole', 'Organization', 'OrganizationAffiliation', 'Location', 'HealthcareService', 'Endpoint',
  'InsurancePlan', 'Medication', 'MedicationKnowledge', 'Substance',
  'ActivityDefinition', 'CapabilityStatement', 'CodeSystem', 'CompartmentDefinition', 'ConceptMap', 'EventDefinition', 'GraphDefinition',
  'ImplementationGuide', 'Library', 'Measure', 'MessageDefinition', 'NamingSystem', 'ObservationDefinition', 'OperationDefinition',
  'PlanDefinition', 'Questionnaire', 'SearchParameter', 'SpecimenDefinition', 'StructureDefinition', 'StructureMap',
  'TerminologyCapabilities', 'ValueSet',
]);

/**
 * Types outside the R4 Patient compartment that the Kansas guide makes a person's record, with the
 * search parameter naming the person: a plan's signatures (KS Plan Signatures, a Contract with
 * `subject` 1..1 KS Patient). A patient-confined grant reaches them through that parameter, as a
 * criteria confinement (`patient=Patient/<id>`), so a person or guardian reads the signatures on
 * their plan and writes their own (the role rule ks-plan-signer says which).
 */
const PERSON_LINKED_TYPES: Readonly<Record<string, string>> = { Contract: 'patient' };

const VERB: Readonly<Record<Permission, string>> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

/** The Caller of a token, cached with the token's AccessContext (the verifier keeps one per token until it expires). */
const callers = new WeakMap<AccessContext, Promise<Caller>>();

/**
 * Resolves what the caller's fhirUser confines `user/` scopes to: Patient/X → X; RelatedPerson/R →
 * R.patient, read once per token; anyone else → not confined (the role rules come later).
 */
export function callerOf(access: AccessContext, lookup: ResourceLookup): Promise<Caller> {
  let caller = callers.get(access);
  if (!caller) {
    caller = resolveCaller(access, lookup);
    callers.set(access, caller);
    // A failed lookup (database down) is not remembered: the next request tries again.
    caller.catch(() => callers.delete(access));
  }
  return caller;
}

async function resolveCaller(access: AccessContext, lookup: ResourceLookup): Promise<Caller> {
  const [type, id] = access.fhirUser?.split('/') ?? [];
  const actor = await actorOf(access, lookup);
  if (!access.scopes.some((grant) => grant.context === 'user') || !id) {
    return { access, actor };
  }
  if (type === 'Patient') {
    return { access, actor, userPatients: [id] };
  }
  if (actor.kind === 'guardian') {
    return actor.patient
      ? { access, actor, userPatients: [actor.patient] }
      : { access, actor, userPatients: [], userNote: `fhirUser ${access.fhirUser} names no patient it is related to, so user/ scopes reach no one's data` };
  }
  return { access, actor };
}

function relativeReference(reference: string | undefined, type: string): string | undefined {
  const match = new RegExp(`(?:^|/)(${type}/[A-Za-z0-9\\-.]{1,64})$`).exec(reference ?? '');
  return match?.[1];
}

/**
 * The actor of the role rules (issue 16): AUTH_MODE=off and the server itself are the local
 * administrator; a token with system/ scopes and no user is a system acting for the Organization
 * its fhirUser names; a PractitionerRole brings its Kansas role code and organization.
 */
async function actorOf(access: AccessContext, lookup: ResourceLookup): Promise<WorkflowActor> {
  if (access === SYSTEM_ACCESS) return { kind: 'administrator' };
  const [type, id] = access.fhirUser?.split('/') ?? [];
  const isSystem = access.scopes.some((grant) => grant.context === 'system') && !access.scopes.some((grant) => grant.context === 'user');
  if (isSystem && (!id || type === 'Organization')) {
    return { kind: 'system', ...(id ? { organization: access.fhirUser } : {}) };
  }
  if (!id || !access.fhirUser) return { kind: 'unidentified' };
  switch (type) {
    case 'Patient':
      return { kind: 'person', reference: access.fhirUser };
    case 'RelatedPerson': {
      const person = await lookup('RelatedPerson', id);
      const patient = relativeReference(person?.patient?.reference, 'Patient')?.slice('Patient/'.length);
      return { kind: 'guardian', reference: access.fhirUser, ...(patient ? { patient } : {}) };
    }
    case 'PractitionerRole': {
      const role = await lookup('PractitionerRole', id);
      const code = role ? kansasRoleOf(role) : undefined;
      const organization = relativeReference(role?.organization?.reference, 'Organization');
      return { kind: 'practitioner', reference: access.fhirUser, ...(code ? { role: code } : {}), ...(organization ? { organization } : {}) };
    }
    default:
      return isSystem ? { kind: 'system' } : { kind: 'unidentified' };
  }
}

/** The patients a user/ grant is confined to: the seam for the workflow issue's role rules. */
function userConfinementOf(caller: Caller): readonly string[] | undefined {
  return caller.userPatients;
}

function inPatientCompartment(parameters: SearchParameterRegistry, resourceType: string): boolean {
  return resourceType === 'Patient' || (parameters.compartmentParams('Patient', resourceType)?.length ?? 0) > 0;
}

/**
 * The decision for `permission` on `resourceType`: each grant that names the type (or `*`) and the
 * permission gives one confinement; any unconfined one wins outright, else the resource must be
 * covered by one of them; none at all is a denial that names a scope which would allow it.
 */
export function decideAccess(caller: Caller, resourceType: string, permission: Permission, parameters: SearchParameterRegistry): AccessDecision {
  const confinements: Confinement[] = [];
  const notes: string[] = [];
  for (const grant of caller.access.scopes) {
    if ((grant.resourceType !== '*' && grant.resourceType !== resourceType) || !grant.permissions.has(permission)) {
      continue;
    }
    const patients = patientsOf(caller, grant, notes);
    if (patients === null) {
      continue;
    }
    if (patients !== undefined && resourceType !== '*' && !inPatientCompartment(parameters, resourceType)) {
      // Confined to persons, on a type that is in no person's compartment.
      const link = PERSON_LINKED_TYPES[resourceType];
      if (link && parameters.param(resourceType, link)) {
        const persons = `${link}=${patients.map((id) => `Patient/${id}`).join(',')}`;
        for (const criteria of withCriteria(grant.criteria, [persons])) confinements.push({ criteria: criteria as string, scope: scopeText(grant) });
      } else if (SHARED_TYPES.has(resourceType) && (permission === 'r' || permission === 's')) {
        if (grant.criteria === undefined) return { kind: 'unconfined' };
        confinements.push({ criteria: grant.criteria, scope: scopeText(grant) });
      } else {
        notes.push(`${scopeText(grant)} reaches only resources in the patient's compartment, and ${resourceType} is not in it`);
      }
      continue;
    }
    const restricted = restrictedCriteria(caller, grant, resourceType, permission);
    if (patients === undefined && grant.criteria === undefined && restricted === undefined) {
      return { kind: 'unconfined' };
    }
    for (const criteria of withCriteria(grant.criteria, restricted)) {
      confinements.push({ ...(patients !== undefined ? { patients } : {}), ...(criteria !== undefined ? { criteria } : {}), scope: scopeText(grant) });
    }
  }
  if (confinements.length) {
    return { kind: 'confined', confinements };
  }
  const why = notes.length ? ` (${[...new Set(notes)].join('; ')})` : '';
  return {
    kind: 'denied',
    scope: neededScope(caller.access, resourceType, permission),
    reason: `The access token does not allow ${VERB[permission]} on ${resourceType}${why}; it needs a scope such as patient/${resourceType}.${permission} (with a patient in the launch context), user/${resourceType}.${permission} or system/${resourceType}.${permission}.`,
  };
}

/**
 * The one scope a 403 names in its challenge (RFC 6750 §3.1 `scope`): in the context the caller
 * already uses (a backend service asks for system/, a patient app for patient/, anyone else
 * user/), so it is a scope that client can actually request.
 */
function neededScope(access: AccessContext, resourceType: string, permission: Permission): string {
  const context = access.scopes[0]?.context ?? 'user';
  return `${context}/${resourceType}.${permission}`;
}

/**
 * The role rules' narrowing of reads (issue 16, ANE reports): Tasks labelled restricted are read
 * only by the person's TCM and care coordinator, systems, and their reporter
 * (src/workflow/role-rules.ts `restrictedTaskCriteria`). System grants are not narrowed.
 */
function restrictedCriteria(caller: Caller, grant: ScopeGrant, resourceType: string, permission: Permission): readonly string[] | undefined {
  if (resourceType !== 'Task' || grant.context === 'system' || (permission !== 'r' && permission !== 's')) return undefined;
  return restrictedTaskCriteria(caller.actor);
}

/** The grant's own criteria and-ed with each alternative of the role narrowing. */
function withCriteria(own: string | undefined, alternatives: readonly string[] | undefined): (string | undefined)[] {
  if (!alternatives) return [own];
  return alternatives.map((alternative) => (own === undefined ? alternative : `${own}&${alternative}`));
}

/** The patients a grant is confined to; undefined: not confined; null: the grant gives nothing (reason in notes). */
function patientsOf(caller: Caller, grant: ScopeGrant, notes: string[]): readonly string[] | undefined | null {
  switch (grant.context) {
    case 'system':
      return undefined;
    case 'patient':
      if (!caller.access.patient) {
        notes.push(`${scopeText(grant)} needs a patient in the launch context and the token has no patient claim`);
        return null;
      }
      return [caller.access.patient];
    case 'user': {
      const patients = userConfinementOf(caller);
      if (patients !== undefined && patients.length === 0) {
        notes.push(caller.userNote ?? `${scopeText(grant)} reaches no one's data for fhirUser ${caller.access.fhirUser}`);
        return null;
      }
      return patients;
    }
  }
}

function scopeText(grant: ScopeGrant): string {
  return grant.text ?? `${grant.context}/${grant.resourceType}.${[...grant.permissions].join('')}${grant.criteria ? `?${grant.criteria}` : ''}`;
}

/**
 * Whether `permission` is unconfined on every type (system/*.cruds, system/*.rs, an unconfined
 * user/*.rs …): the hot path, where nothing is narrowed and no query is added.
 */
export function unconfinedEverywhere(caller: Caller, permission: Permission): boolean {
  return caller.access.scopes.some(
    (grant) =>
      grant.resourceType === '*' &&
      grant.criteria === undefined &&
      grant.permissions.has(permission) &&
      (grant.context === 'system' ||
        (grant.context === 'user' && userConfinementOf(caller) === undefined && ((permission !== 'r' && permission !== 's') || restrictedTaskCriteria(caller.actor) === undefined))),
  );
}
