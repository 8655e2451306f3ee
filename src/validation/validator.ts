import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadBaseDefinitions } from './definitions.ts';

export interface ValidationOptions {
  /** Extra profiles to validate against, in addition to those in meta.profile. */
  readonly profiles?: readonly string[];
}

/**
 * Checks a resource before it is stored. Returns every issue found (errors and warnings); the
 * caller rejects the write when any issue has severity `error` or `fatal`.
 */
export interface ResourceValidator {
  validate(resource: Resource, options?: ValidationOptions): OperationOutcomeIssue[];
}

/** Structure validation against the base R4 definitions: elements, types, cardinality, invariants. */
export function validateBaseStructure(resource: Resource): OperationOutcomeIssue[] {
  loadBaseDefinitions();
  try {
    return validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return err.outcome.issue ?? [];
    }
    throw err;
  }
}

export function createResourceValidator(): ResourceValidator {
  loadBaseDefinitions();
  return {
    validate: (resource) => validateBaseStructure(resource),
  };
}

export function hasErrors(issues: readonly OperationOutcomeIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error' || issue.severity === 'fatal');
}
