import type { CarePlan, Resource } from '@medplum/fhirtypes';
import { planTypeOf, system, type PlanType } from '../../workflow/kansas-workflow.ts';
import { isPlanSignatures, signedPlanOf } from '../../workflow/plan-signatures.ts';
import { brokenRoleRule, planOfItemMatters, signedPlanMatters } from '../../workflow/role-rules.ts';
import { callerOfContext } from '../access/caller-access.ts';
import type { Repository } from '../../store/repository.ts';
import type { FhirContext } from '../context.ts';
import { readReference } from './consequences/care-coordinator.ts';
import type { ProposedWrite, WriteRule } from './write-rule.ts';

interface PlainIdentifier {
  readonly system?: string;
  readonly value?: string;
}

/** The CarePlan search parameter that finds the plan pointing at an item of this type (R4 CarePlan: goal, activity-reference, condition). */
const PLAN_LINK: Readonly<Record<string, string>> = { Goal: 'goal', ServiceRequest: 'activity-reference', Condition: 'condition' };

/**
 * Plan types by ks-plan-id within one transaction (its repository): of the plans it wrote (a
 * document import writes its CarePlan before the plan's items) and of those it looked up, so the
 * items of one plan cost one lookup at most, not one each. Only types found are kept: a plan not
 * stored yet may be written later in the same transaction.
 */
const plansOfTransaction = new WeakMap<Repository, Map<string, PlanType>>();

function knownPlans(ctx: FhirContext): Map<string, PlanType> | undefined {
  if (!ctx.repo.inTransaction) return undefined;
  let plans = plansOfTransaction.get(ctx.repo);
  if (!plans) plansOfTransaction.set(ctx.repo, (plans = new Map()));
  return plans;
}

function identifierValue(resource: Resource, identifierSystem: string): string | undefined {
  // Most types have identifier 0..*; a few (QuestionnaireResponse, Bundle) have one.
  const identifier = (resource as { identifier?: PlainIdentifier | PlainIdentifier[] }).identifier;
  return (Array.isArray(identifier) ? identifier : identifier ? [identifier] : []).find((i) => i.system === identifierSystem)?.value;
}

async function planTypeByPlanId(ctx: FhirContext, planId: string): Promise<PlanType | undefined> {
  const known = knownPlans(ctx)?.get(planId);
  if (known) return known;
  const type = await planTypeById(ctx, `identifier=${encodeURIComponent(`${system.planId}|${planId}`)}`);
  if (type) knownPlans(ctx)?.set(planId, type);
  return type;
}

async function planTypeById(ctx: FhirContext, query: string): Promise<PlanType | undefined> {
  const [id] = await ctx.search.findMatchingIds(ctx.repo, 'CarePlan', query, 1);
  const plan = id ? await readReference<CarePlan>(ctx, `CarePlan/${id}`) : undefined;
  return plan ? planTypeOf(plan) : undefined;
}

/**
 * The type of the plan a written resource is an item of: by its ks-plan-item identifier
 * (`<planId>/<kind>/<itemId>`, as document imports write them), else — for a stored Goal, Condition
 * or ServiceRequest — the CarePlan that references it. A resource no plan names yet is no plan item
 * (the plan's own write is checked when it starts to point at it).
 */
async function planOfItem(ctx: FhirContext, write: ProposedWrite): Promise<PlanType | undefined> {
  if (write.resourceType === 'CarePlan') return undefined;
  for (const resource of [write.previous, write.next].filter((r): r is Resource => r !== undefined)) {
    const value = identifierValue(resource, system.planItem);
    const planId = value ? /^(.+)\/[a-z-]+\/[^/]+$/.exec(value)?.[1] : undefined;
    const type = planId ? await planTypeByPlanId(ctx, planId) : undefined;
    if (type) return type;
  }
  const link = PLAN_LINK[write.resourceType];
  return link && write.previous ? planTypeById(ctx, `${link}=${write.resourceType}/${write.id}`) : undefined;
}

/** The stored subject of the plan a KS Plan Signatures Contract signs (rule ks-plan-signer). */
async function signedPlanSubject(ctx: FhirContext, write: ProposedWrite): Promise<string | undefined> {
  const plan = isPlanSignatures(write.next) ? signedPlanOf(write.next) : undefined;
  return plan ? (await readReference<CarePlan>(ctx, plan))?.subject?.reference : undefined;
}

/**
 * The Kansas role rules (src/workflow/role-rules.ts) on every write: who may author PCSP, BSP and
 * ISP content (the plan and its items: goals, needs, services, steps), authorize services, change a Task. The actor is the token's fhirUser; a violation
 * is 403 naming the rule, what it says, who may, and its source. AUTH_MODE=off (a local
 * administrator) and the server's own writes are not subject to them.
 */
export const roleRule: WriteRule = {
  name: 'Kansas role rules',
  async check(write, ctx) {
    const actor = (await callerOfContext(ctx)).actor;
    if (actor.kind === 'administrator') return { issues: [] };
    const signed = write.resourceType === 'Contract' && signedPlanMatters(actor) ? await signedPlanSubject(ctx, write) : undefined;
    const judged = { ...write, ...(signed ? { signedPlanSubject: signed } : {}) };
    // The plan is looked up only when its type could change the verdict (a system's writes skip it).
    const itemOfPlan = planOfItemMatters(actor, judged) ? await planOfItem(ctx, write) : undefined;
    const broken = brokenRoleRule(actor, { ...judged, itemOfPlan });
    if (!broken) {
      // A plan this transaction writes (and the caller may write): its items need no lookup.
      const planId = write.resourceType === 'CarePlan' && write.next ? identifierValue(write.next, system.planId) : undefined;
      const type = planId ? planTypeOf(write.next as CarePlan) : undefined;
      if (planId && type) knownPlans(ctx)?.set(planId, type);
      return { issues: [] };
    }
    const who = ctx.access.fhirUser ?? (actor.kind === 'system' ? 'a system token' : 'a caller without fhirUser');
    const role = actor.kind === 'practitioner' ? ` (${actor.role ?? 'no Kansas role code'})` : '';
    return {
      issues: [
        {
          severity: 'error',
          code: 'forbidden',
          diagnostics: `Rule ${broken.name}: ${broken.statement}. ${who}${role} may not ${write.interaction} ${write.resourceType}/${write.id}; who may: ${broken.whoMay}. Source: ${broken.source}.`,
        },
      ],
      rejectionStatus: 403,
    };
  },
};
