import type { Resource, Task } from '@medplum/fhirtypes';
import { isAuthorizedService } from './authorization-decisions.ts';
import { PLAN_TYPES, codeIn, extension, isPlanStep, planTypeOf, system, taskTypeOf, type KansasRole, type PlanType } from './kansas-workflow.ts';
import { signsOwnPlan, type PlanSigner } from './plan-signatures.ts';

/**
 * Who acts, as the role rules see it: the token's fhirUser resolved (issue 16 "Role rules").
 * - administrator: AUTH_MODE=off and the server's own work — role rules off, state rules on;
 * - system: a backend-services token (system/ scopes), acting for `organization` when its
 *   fhirUser names one (an MCO's or agency's system);
 * - practitioner: a PractitionerRole with its Kansas role code and organization;
 * - person: the Patient; guardian: a RelatedPerson of `patient`.
 */
export type WorkflowActor =
  | { readonly kind: 'administrator' }
  | { readonly kind: 'system'; readonly organization?: string }
  | { readonly kind: 'practitioner'; readonly reference: string; readonly role?: KansasRole; readonly organization?: string }
  | { readonly kind: 'person'; readonly reference: string }
  | { readonly kind: 'guardian'; readonly reference: string; readonly patient?: string }
  | { readonly kind: 'unidentified' };

export interface WorkflowWrite {
  readonly interaction: 'create' | 'update' | 'patch' | 'delete';
  readonly resourceType: string;
  readonly previous?: Resource;
  readonly next?: Resource;
  /**
   * For a plan's own item (a Goal, need, service, step… linked to its CarePlan by its ks-plan-item
   * identifier or the plan's reference to it): the plan's type, so the plan's author rules cover it.
   */
  readonly itemOfPlan?: PlanType;
  /** For a KS Plan Signatures Contract: the subject of the plan it signs, as stored (`Patient/<id>`). */
  readonly signedPlanSubject?: string;
}

/** One role rule: named, with the sentence a refusal quotes and where it comes from. */
export interface RoleRule {
  readonly name: string;
  readonly statement: string;
  /** Who may, as a refusal says it. */
  readonly whoMay: string;
  readonly source: string;
  applies(write: WorkflowWrite): boolean;
  permits(actor: WorkflowActor, write: WorkflowWrite): boolean;
}

function versions(write: WorkflowWrite): Resource[] {
  return [write.previous, write.next].filter((r): r is Resource => r !== undefined);
}

/** A write of a plan of these types, or of an item of one. */
function isPlanOf(write: WorkflowWrite, types: readonly string[]): boolean {
  return (write.itemOfPlan !== undefined && types.includes(write.itemOfPlan)) || versions(write).some((r) => r.resourceType === 'CarePlan' && types.includes(planTypeOf(r) ?? ''));
}

function hasRole(actor: WorkflowActor, ...roles: KansasRole[]): boolean {
  return actor.kind === 'practitioner' && actor.role !== undefined && roles.includes(actor.role);
}

/** Agency and MCO systems act for their organization (issue 16): trusted like the role they run for. */
function isSystem(actor: WorkflowActor): boolean {
  return actor.kind === 'system';
}

/** A primary care case management activity: its activity category, or the task type that belongs to it. */
function isPrimaryCareCaseManagement(resource: Resource): boolean {
  if (resource.resourceType !== 'Task') return false;
  const task = resource as Task;
  const category = task.extension?.find((e) => e.url === extension.activityCategory)?.valueCodeableConcept;
  return codeIn(category, system.careCoordinationCategory) === 'primary-care-case-management' || taskTypeOf(task) === 'transition-follow-up';
}

/** Whether the actor is the party a reference names: itself, or the organization it works for. */
export function actsAs(actor: WorkflowActor, party: string | undefined): boolean {
  if (!party) return false;
  switch (actor.kind) {
    case 'practitioner':
      return party === actor.reference || party === actor.organization;
    case 'system':
      return party === actor.organization;
    case 'person':
    case 'guardian':
      return party === actor.reference;
    default:
      return false;
  }
}

/** A person or guardian as the signer of their own plan; undefined for anyone else. */
function planSignerOf(actor: WorkflowActor): PlanSigner | undefined {
  if (actor.kind === 'person') return { reference: actor.reference, signerRole: 'person', patient: actor.reference };
  if (actor.kind === 'guardian') return { reference: actor.reference, signerRole: 'guardian', ...(actor.patient ? { patient: `Patient/${actor.patient}` } : {}) };
  return undefined;
}

/** The rule that confines a person or guardian to their own records; reads name it too (fhir/access/caller-access.ts). */
export const PERSON_READS_OWN = 'ks-person-reads-own';

/**
 * Whether the subject of the plan a KS Plan Signatures Contract signs can change the verdict: only
 * for a person or guardian (ks-plan-signer), so only then does the write path read the plan — for
 * anyone else a document import's signatures cost no read (and no early send of its writes).
 */
export function signedPlanMatters(actor: WorkflowActor): boolean {
  return planSignerOf(actor) !== undefined;
}

/** The role rules of issue 16, in the order they are checked. */
export const ROLE_RULES: readonly RoleRule[] = [
  {
    name: 'ks-pcsp-bsp-author',
    statement: 'Only a targeted case manager authors or changes PCSP and BSP content — the plan and its goals, needs, services and steps (a behavior specialist also the BSP)',
    whoMay: 'a PractitionerRole with code targeted-case-manager (BSP also behavior-specialist), or the TCM agency system',
    source: 'CodeSystem-ks-practitioner-role#targeted-case-manager ("writes the PCSP and BSP", 42 CFR 440.169; K.A.R. 30-63-32)',
    applies: (write) => isPlanOf(write, ['pcsp', 'bsp', 'backup-plan']),
    permits: (actor, write) =>
      isSystem(actor) || hasRole(actor, 'targeted-case-manager') || (isPlanOf(write, ['bsp']) && !isPlanOf(write, ['pcsp']) && hasRole(actor, 'behavior-specialist')),
  },
  {
    name: 'ks-isp-author',
    statement: 'Only an MCO care coordinator authors the ISP and its goals, needs and services',
    whoMay: 'a PractitionerRole with code mco-care-coordinator, or the MCO system',
    source: 'CodeSystem-ks-practitioner-role#mco-care-coordinator ("writes the ISP and authorizes services")',
    applies: (write) => isPlanOf(write, ['isp']),
    permits: (actor) => isSystem(actor) || hasRole(actor, 'mco-care-coordinator'),
  },
  {
    name: 'ks-service-authorization',
    statement: 'Only the MCO authorizes, denies or changes an authorized service',
    whoMay: 'a PractitionerRole with code mco-care-coordinator, or the MCO system',
    source: 'CodeSystem-ks-practitioner-role#mco-care-coordinator ("authorizes services"); StructureDefinition-ks-authorized-service',
    applies: (write) => versions(write).some(isAuthorizedService),
    permits: (actor) => isSystem(actor) || hasRole(actor, 'mco-care-coordinator'),
  },
  {
    name: 'ks-no-pccm-by-tcm',
    statement: 'A targeted case manager cannot create or change primary care case management activities',
    whoMay: 'an MCO care coordinator (or anyone but a targeted case manager)',
    source: 'seeds 000/001: "This includes primary care case management, which cannot be provided by a targeted case manager."',
    applies: (write) => versions(write).some(isPrimaryCareCaseManagement),
    permits: (actor) => !hasRole(actor, 'targeted-case-manager'),
  },
  {
    name: 'ks-task-parties',
    statement: "A Task is changed only by its requester or its owner (a provider changes the Tasks it owns); a person or guardian only the Tasks they own",
    whoMay: "the Task's requester or owner (the PractitionerRole, or a role of the Organization named there)",
    source: 'Gravity SDOHCC Task For Referral Management, "set by Requester / Referral Target" (shared/standards.md §3.2)',
    applies: (write) => write.resourceType === 'Task' && write.previous !== undefined && !isPlanStep(write.previous as Task),
    permits: (actor, write) => {
      const task = write.previous as Task;
      return isSystem(actor) || actsAs(actor, task.requester?.reference) || actsAs(actor, task.owner?.reference);
    },
  },
  {
    name: PERSON_READS_OWN,
    statement: 'A person or guardian reads their own plans and Tasks and writes no plan content',
    whoMay: 'a targeted case manager (PCSP, BSP) or MCO care coordinator (ISP)',
    source: 'issue 16 "Role rules"; SDOHCC Task For Patient: a patient app changes only status, statusReason and output of its own Tasks',
    applies: (write) => versions(write).some((r) => r.resourceType === 'CarePlan' || r.resourceType === 'Goal' || r.resourceType === 'ServiceRequest'),
    permits: (actor) => actor.kind !== 'person' && actor.kind !== 'guardian',
  },
  {
    name: 'ks-plan-signer',
    statement: 'A person or guardian signs only their own plan and only as themselves — a new KS Plan Signatures Contract on a plan of their person whose every signer and signature is theirs — and changes no signatures',
    whoMay: 'the person (signer type person) or their guardian (signer type guardian) creating their own signature; a targeted case manager or care coordinator for the signatures of a plan document',
    source: 'issue 19 (a person or guardian signs their plan); StructureDefinition-ks-plan-signatures; eLTSS Plan Signatures → Contract.signer (shared/standards.md §1.4); 42 CFR 441.301(c)(2)(ix)',
    applies: (write) => write.resourceType === 'Contract',
    permits: (actor, write) => {
      const signer = planSignerOf(actor);
      return !signer || (write.previous === undefined && write.interaction !== 'delete' && signsOwnPlan(signer, write.next, write.signedPlanSubject));
    },
  },
];

/** The first rule the write breaks, or undefined. Administrators are not subject to role rules (AUTH_MODE=off). */
export function brokenRoleRule(actor: WorkflowActor, write: WorkflowWrite): RoleRule | undefined {
  if (actor.kind === 'administrator') return undefined;
  return ROLE_RULES.find((rule) => rule.applies(write) && !rule.permits(actor, write));
}

/**
 * Whether the plan a written resource is an item of can change the verdict for this actor. When
 * every plan type (and none) gives the same verdict — a system token, which every plan rule
 * trusts — the write path need not look the plan up: that lookup is a search and a read per
 * written resource, and each makes the transaction send its queued writes first, so a document
 * import by a system sent one write statement per resource instead of one in all.
 */
export function planOfItemMatters(actor: WorkflowActor, write: WorkflowWrite): boolean {
  const without = brokenRoleRule(actor, { ...write, itemOfPlan: undefined });
  return PLAN_TYPES.some((type) => brokenRoleRule(actor, { ...write, itemOfPlan: type }) !== without);
}

/**
 * Read narrowing of restricted Tasks (ANE reports): who is not the person's TCM or care
 * coordinator (or a system) sees Tasks labelled restricted only where they are the requester.
 * Returned as alternatives of search criteria the access policy adds to Task reads and searches.
 */
export function restrictedTaskCriteria(actor: WorkflowActor): readonly string[] | undefined {
  if (actor.kind === 'administrator' || actor.kind === 'system' || hasRole(actor, 'targeted-case-manager', 'mco-care-coordinator')) {
    return undefined;
  }
  const notRestricted = `_security:not=${system.confidentiality}|R`;
  return actor.kind === 'practitioner' ? [notRestricted, `requester=${actor.reference}`] : [notRestricted];
}
