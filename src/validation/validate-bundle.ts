import type { Bundle, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { ResourceValidator } from './validator.ts';

/** Issues of a resource validated on its own, relocated under `prefix` (its place in a Bundle). */
function prefixed(issues: readonly OperationOutcomeIssue[], prefix: string, root: string): OperationOutcomeIssue[] {
  return issues.map((issue) => ({
    ...issue,
    expression: issue.expression?.map((e) => (e.startsWith(root) ? `${prefix}${e.slice(root.length)}` : `${prefix}.${e}`)),
  }));
}

/**
 * Validates a Bundle's own elements (type, identifier ...), then each entry's resource on its own,
 * as the server validates a transaction's entries. Issues are located from the Bundle
 * (`Bundle.entry[1].resource.status`). Used offline by `kanplan validate`.
 */
export function validateBundleEntries(validator: ResourceValidator, bundle: Bundle, prefix = 'Bundle'): OperationOutcomeIssue[] {
  const entries = bundle.entry ?? [];
  // An entry stripped of its resource would break bdl-5, so the shell drops the entries whole.
  const { entry: _entries, ...shell } = bundle;
  const issues = prefixed(validator.validate(shell as Bundle), prefix, 'Bundle');
  entries.forEach((entry, i) => {
    if (entry.resource) {
      issues.push(...prefixed(validator.validate(entry.resource), `${prefix}.entry[${i}].resource`, entry.resource.resourceType));
    }
  });
  return issues;
}
