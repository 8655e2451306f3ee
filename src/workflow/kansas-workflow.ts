/**
 * The Kansas codes the workflow speaks in, as the Kansas guide defines them (profiles/input):
 * task types (CodeSystem-ks-task-type), practitioner roles (CodeSystem-ks-practitioner-role), plan
 * types (CodeSystem-ks-plan-type) and care coordination categories. The workflow tier reads
 * resources through these only, so a code renamed in the guide is renamed here once.
 */
const CANONICAL = 'https://kanplan.org/fhir';

export const system = {
  taskType: `${CANONICAL}/CodeSystem/ks-task-type`,
  practitionerRole: `${CANONICAL}/CodeSystem/ks-practitioner-role`,
  planType: `${CANONICAL}/CodeSystem/ks-plan-type`,
  careCoordinationCategory: `${CANONICAL}/CodeSystem/ks-care-coordination-category`,
  identifierType: `${CANONICAL}/CodeSystem/ks-identifier-type`,
  planId: `${CANONICAL}/sid/ks-plan-id`,
  planItem: `${CANONICAL}/sid/ks-plan-item`,
  /** HL7 v3 Confidentiality: `R` (restricted) on an ANE report (https://terminology.hl7.org/CodeSystem-v3-Confidentiality.html). */
  confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  taskInputType: `${CANONICAL}/CodeSystem/ks-task-input-type`,
  authorizationDecision: `${CANONICAL}/CodeSystem/ks-authorization-decision`,
  authorizationDecisionReason: `${CANONICAL}/CodeSystem/ks-authorization-decision-reason`,
  /** Identifiers of the Tasks the server's scheduled jobs create: one per plan review or assessment due (idempotent). */
  workflowReminder: `${CANONICAL}/sid/ks-workflow-reminder`,
  /** Who signs a plan (CodeSystem-ks-signer-role, eLTSS Plan Signatures). */
  signerRole: `${CANONICAL}/CodeSystem/ks-signer-role`,
} as const;

export const extension = {
  activityCategory: `${CANONICAL}/StructureDefinition/ks-activity-category`,
  reviewDueDate: `${CANONICAL}/StructureDefinition/ks-review-due-date`,
  mco: `${CANONICAL}/StructureDefinition/ks-mco`,
  authorizationDecision: `${CANONICAL}/StructureDefinition/ks-authorization-decision`,
} as const;

export const profile = {
  workflowTask: `${CANONICAL}/StructureDefinition/ks-workflow-task`,
  authorizedService: `${CANONICAL}/StructureDefinition/ks-authorized-service`,
  functionalAssessment: `${CANONICAL}/StructureDefinition/ks-functional-assessment`,
  /** KS Plan Signatures: a Contract whose signers signed the plan in `topicReference` (eLTSS, shared/standards.md §1.4). */
  planSignatures: `${CANONICAL}/StructureDefinition/ks-plan-signatures`,
} as const;

/** CodeSystem-ks-task-type. */
export type TaskType =
  | 'notify-change-of-needs'
  | 'authorization-decision'
  | 'input-request'
  | 'update-isp'
  | 'plan-review-due'
  | 'assessment-due'
  | 'referral'
  | 'ane-report'
  | 'iep-participation'
  | 'informal-support-linkage'
  | 'transition-follow-up';

/** CodeSystem-ks-practitioner-role. */
export type KansasRole = 'targeted-case-manager' | 'mco-care-coordinator' | 'hcbs-provider' | 'behavior-specialist';

export const KANSAS_ROLES: readonly KansasRole[] = ['targeted-case-manager', 'mco-care-coordinator', 'hcbs-provider', 'behavior-specialist'];

export type PlanType = 'pcsp' | 'bsp' | 'isp' | 'backup-plan';

/** CodeSystem-ks-plan-type: every plan type the role rules may be asked about. */
export const PLAN_TYPES: readonly PlanType[] = ['pcsp', 'bsp', 'isp', 'backup-plan'];

interface Coded {
  readonly coding?: readonly { readonly system?: string; readonly code?: string }[];
}

/** The code of `system` among the codings of one or more CodeableConcepts. */
export function codeIn(concepts: Coded | readonly Coded[] | undefined, codeSystem: string): string | undefined {
  const list: readonly Coded[] = Array.isArray(concepts) ? (concepts as readonly Coded[]) : concepts ? [concepts as Coded] : [];
  for (const concept of list) {
    const found = concept.coding?.find((c) => c.system === codeSystem && c.code);
    if (found) return found.code;
  }
  return undefined;
}

export function taskTypeOf(task: { code?: Coded }): TaskType | undefined {
  return codeIn(task.code, system.taskType) as TaskType | undefined;
}

export function planTypeOf(plan: { category?: readonly Coded[] }): PlanType | undefined {
  return codeIn(plan.category, system.planType) as PlanType | undefined;
}

export function kansasRoleOf(role: { code?: readonly Coded[] }): KansasRole | undefined {
  const code = codeIn(role.code, system.practitionerRole);
  return KANSAS_ROLES.find((known) => known === code);
}

/** The security label that restricts an ANE report (domain.md §6c; issue 16 "ANE report"). */
export const RESTRICTED_LABEL = { system: system.confidentiality, code: 'R', display: 'restricted' } as const;

export function isRestricted(resource: { meta?: { security?: readonly { system?: string; code?: string }[] } }): boolean {
  return resource.meta?.security?.some((label) => label.system === RESTRICTED_LABEL.system && label.code === RESTRICTED_LABEL.code) === true;
}

/**
 * A step of a plan's goal (a Task made from a document item, `ks-plan-item` identifier): plan
 * content, whose status the plan's author sets with the plan (role rule ks-pcsp-bsp-author), not a
 * Task exchanged between parties, so the Task state machine and the Task party rule leave it out.
 */
export function isPlanStep(task: { identifier?: readonly { system?: string }[] }): boolean {
  return task.identifier?.some((id) => id.system === system.planItem) === true;
}
