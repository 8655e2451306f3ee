import { decisionProblem, isAuthorizedService } from '../../workflow/authorization-decisions.ts';
import type { WriteRule } from './write-rule.ts';

/**
 * An MCO decision on a planned service is complete before it is stored (issue 16 "Service
 * authorization": denied or partially approved "with a reason"): 422 saying what to add
 * (src/workflow/authorization-decisions.ts). Applies to everyone, AUTH_MODE=off included: it is
 * the record's integrity, not a role.
 */
export const authorizationDecisionRule: WriteRule = {
  name: 'Kansas authorization decisions',
  check(write) {
    if (!isAuthorizedService(write.next)) return { issues: [] };
    const problem = decisionProblem(write.next);
    if (!problem) return { issues: [] };
    return {
      issues: [{ severity: 'error', code: 'business-rule', expression: ['ServiceRequest.extension'], diagnostics: `Rule ks-authorization-reason: ServiceRequest/${write.id}: ${problem}.` }],
      rejectionStatus: 422,
    };
  },
};
