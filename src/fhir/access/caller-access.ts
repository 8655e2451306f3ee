import type { Resource } from '@medplum/fhirtypes';
import { callerOf, decideAccess, unconfinedEverywhere, type AccessDecision, type Caller, type ResourceLookup } from '../../auth/access-policy.ts';
import type { Permission } from '../../auth/scopes.ts';
import { insufficientScope, notFound } from '../../outcomes.ts';
import type { GrantReach, SearchAccess, TypeAccess } from '../../search/index.ts';
import type { ResourceKey } from '../../store/repository.ts';
import { PERSON_READS_OWN, ROLE_RULES } from '../../workflow/role-rules.ts';
import type { FhirContext } from '../context.ts';

/**
 * How the FHIR tier applies the access policy (src/auth/access-policy.ts) to an interaction: the
 * type check (403 naming a scope), the narrowing handed to search, and the instance check of a
 * read, history or operation (404 when the type is allowed but the resource is outside the grant,
 * so its existence is not revealed). Writes are checked by the access write rule (writes/access-rule.ts).
 */

/** The caller of this context; a RelatedPerson's patient is read once per token. */
export function callerOfContext(ctx: FhirContext): Promise<Caller> {
  return callerOf(ctx.access, async (resourceType, id) => {
    const current = await ctx.repo.readCurrent(resourceType, id);
    return current && !current.deleted ? (current.resource as Awaited<ReturnType<ResourceLookup>>) : undefined;
  });
}

/** For a person or guardian, the role rule that confines them (issue 16: a refusal names its rule). */
async function personRuleOf(ctx: FhirContext): Promise<string> {
  const { kind } = (await callerOfContext(ctx)).actor;
  const rule = kind === 'person' || kind === 'guardian' ? ROLE_RULES.find((r) => r.name === PERSON_READS_OWN) : undefined;
  return rule ? ` Rule ${rule.name}: ${rule.statement} (${rule.source}).` : '';
}

export type AllowedDecision = Exclude<AccessDecision, { kind: 'denied' }>;

/** The caller's decision for `permission` on `resourceType` ('*': every type, as a system search asks); 403 when denied. */
export async function requireAccess(ctx: FhirContext, resourceType: string, permission: Permission): Promise<AllowedDecision> {
  const decision = decideAccess(await callerOfContext(ctx), resourceType, permission, ctx.conformance.searchParameters);
  if (decision.kind === 'denied') {
    throw insufficientScope(decision.reason, decision.scope);
  }
  return decision;
}

function typeAccessOf(decision: AccessDecision): TypeAccess {
  if (decision.kind === 'denied') return 'none';
  if (decision.kind === 'unconfined') return 'all';
  return decision.confinements.map(({ patients, criteria }): GrantReach => ({ patients, criteria }));
}

/**
 * The caller's access as search narrows by it, or undefined on the hot path (system/*.cruds and
 * other tokens that read and search every type unconfined): nothing is added to any statement.
 * `fixed`: judge every use by this one permission (conditional matching judges by read).
 */
export async function searchAccessOf(ctx: FhirContext, fixed?: Permission): Promise<SearchAccess | undefined> {
  const caller = await callerOfContext(ctx);
  if (fixed ? unconfinedEverywhere(caller, fixed) : unconfinedEverywhere(caller, 's') && unconfinedEverywhere(caller, 'r')) {
    return undefined;
  }
  const decided = new Map<string, TypeAccess>();
  const parameters = ctx.conformance.searchParameters;
  return {
    forType(resourceType, permission) {
      const key = `${resourceType} ${fixed ?? permission}`;
      let access = decided.get(key);
      if (access === undefined) {
        access = typeAccessOf(decideAccess(caller, resourceType, fixed ?? permission, parameters));
        decided.set(key, access);
      }
      return access;
    },
  };
}

/** The keys among `keys` the caller may `permission` (one query when confined, none otherwise). */
export async function grantedKeys(ctx: FhirContext, keys: readonly ResourceKey[], permission: Permission): Promise<Set<string> | undefined> {
  const access = await searchAccessOf(ctx, permission);
  return access ? ctx.search.grantedResources(ctx.repo, keys, access, permission) : undefined;
}

/** Whether the caller may `permission` this one resource: its type, then (when confined) the instance. */
export async function reachesInstance(ctx: FhirContext, resourceType: string, id: string, permission: Permission): Promise<boolean> {
  const decision = decideAccess(await callerOfContext(ctx), resourceType, permission, ctx.conformance.searchParameters);
  if (decision.kind !== 'confined') {
    return decision.kind === 'unconfined';
  }
  const granted = await ctx.search.grantedResources(ctx.repo, [{ resourceType, id }], { forType: () => typeAccessOf(decision) }, permission);
  return granted.has(`${resourceType}/${id}`);
}

/**
 * Before a read, vread, instance history or instance operation: 403 when the type is not allowed,
 * 404 when the instance is outside every grant (or does not exist: the same answer, so a confined
 * caller cannot tell another patient's resource from a missing one). One indexed query, only when confined.
 */
export async function assertInstanceAccess(ctx: FhirContext, resourceType: string, id: string, permission: Permission): Promise<void> {
  const decision = await requireAccess(ctx, resourceType, permission);
  if (decision.kind === 'unconfined') {
    return;
  }
  const granted = await ctx.search.grantedResources(ctx.repo, [{ resourceType, id }], { forType: () => typeAccessOf(decision) }, permission);
  if (!granted.has(`${resourceType}/${id}`)) {
    throw notFound(`${resourceType}/${id} is not among the resources this access token reaches (${decision.confinements.map((c) => c.scope).join(', ')}), or does not exist.${await personRuleOf(ctx)}`);
  }
}
