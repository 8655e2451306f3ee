import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Confinement } from '../../auth/access-policy.ts';
import type { Permission } from '../../auth/scopes.ts';
import { decideAccess } from '../../auth/access-policy.ts';
import { callerOfContext } from '../access/caller-access.ts';
import type { FhirContext } from '../context.ts';
import type { WriteInteraction, WriteRule } from './write-rule.ts';

const PERMISSION: Readonly<Record<WriteInteraction, Permission>> = { create: 'c', update: 'u', patch: 'u', delete: 'd' };

function refusal(diagnostics: string): { issues: OperationOutcomeIssue[]; rejectionStatus: number } {
  return { issues: [{ severity: 'error', code: 'forbidden', diagnostics }], rejectionStatus: 403 };
}

function describe(confinement: Confinement): string {
  const parts = [
    ...(confinement.patients ? [`in the compartment of ${confinement.patients.map((p) => `Patient/${p}`).join(' or ') || 'no patient'}`] : []),
    ...(confinement.criteria !== undefined ? [`matching ${confinement.criteria}`] : []),
  ];
  return `${parts.join(' and ')} (${confinement.scope})`;
}

/** Whether one of the confinements reaches the resource, judged on its content; criteria that cannot be judged reach nothing. */
function reached(ctx: FhirContext, resource: Resource, confinements: readonly Confinement[]): boolean {
  return confinements.some((c) => ctx.search.reachesResource(resource, { patients: c.patients, criteria: c.criteria }) === true);
}

/**
 * SMART scopes on writes (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html):
 * a create, update, patch or delete by a confined caller (a patient/ grant, a user/ grant of a
 * person or guardian, v2 criteria) must write a resource inside the grant, and an update or delete
 * must also start from one inside it — else 403 naming the grants. Every write form comes here
 * (plain, conditional, batch and transaction entries, `$import-document`), so no form can write
 * around it. Unconfined callers cost one decision and nothing else.
 */
export const accessRule: WriteRule = {
  name: 'SMART scopes: patient compartment and criteria',
  async check(write, ctx) {
    const permission = PERMISSION[write.interaction];
    const decision = decideAccess(await callerOfContext(ctx), write.resourceType, permission, ctx.conformance.searchParameters);
    if (decision.kind === 'unconfined') {
      return { issues: [] };
    }
    if (decision.kind === 'denied') {
      return refusal(decision.reason);
    }
    const allowed = decision.confinements.map(describe).join('; or ');
    const key = `${write.resourceType}/${write.id}`;
    if (write.previous && !reached(ctx, write.previous, decision.confinements)) {
      return refusal(`The access token allows ${write.interaction} of ${write.resourceType} only ${allowed}; the current version of ${key} is outside that.`);
    }
    if (write.next && !reached(ctx, write.next, decision.confinements)) {
      return refusal(`The access token allows ${write.interaction} of ${write.resourceType} only ${allowed}; ${key} as sent is outside that (set its patient reference to the patient in context, or meet the criteria).`);
    }
    return { issues: [] };
  },
};
