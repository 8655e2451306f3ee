import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { hasErrors, rejectionStatus } from '../../validation/validator.ts';
import type { WriteRule } from './write-rule.ts';

/** Every issue says where and what in one line, e.g. "CarePlan.status: Missing required property". */
function withDiagnostics(issue: OperationOutcomeIssue): OperationOutcomeIssue {
  if (issue.diagnostics) {
    return issue;
  }
  const where = issue.expression?.[0];
  const what = issue.details?.text ?? issue.code;
  return { ...issue, diagnostics: where ? `${where}: ${what}` : what };
}

/**
 * Base R4 structure and the Kansas profiles a resource claims or its content implies
 * (src/validation/). A rejected write answers 400 when it breaks base R4 and 422 when only
 * profiles reject it (https://hl7.org/fhir/R4/http.html#update; docs/architecture.md, "400 or 422").
 * Deletes carry no content to validate.
 */
export const validationRule: WriteRule = {
  name: 'FHIR R4 and Kansas profile validation',
  check(write, ctx) {
    if (!write.next) {
      return { issues: [] };
    }
    const issues = ctx.validator.validate(write.next).map(withDiagnostics);
    return hasErrors(issues) ? { issues, rejectionStatus: rejectionStatus(ctx.validator, write.next) } : { issues };
  },
};
