import { brokenRoleRule } from '../../workflow/role-rules.ts';
import { callerOfContext } from '../access/caller-access.ts';
import type { WriteRule } from './write-rule.ts';

/**
 * The Kansas role rules (src/workflow/role-rules.ts) on every write: who may author PCSP, BSP and
 * ISP content, authorize services, change a Task. The actor is the token's fhirUser; a violation
 * is 403 naming the rule, what it says, who may, and its source. AUTH_MODE=off (a local
 * administrator) and the server's own writes are not subject to them.
 */
export const roleRule: WriteRule = {
  name: 'Kansas role rules',
  async check(write, ctx) {
    const actor = (await callerOfContext(ctx)).actor;
    const broken = brokenRoleRule(actor, write);
    if (!broken) return { issues: [] };
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
