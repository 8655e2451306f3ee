import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { hasErrors, rejectionStatus } from '../../validation/validator.ts';
import type { FhirContext } from '../context.ts';
import { FhirError, badRequest } from '../../outcomes.ts';

/** https://hl7.org/fhir/R4/datatypes.html#id */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function assertValidId(id: string, where = 'id'): void {
  if (!FHIR_ID.test(id)) {
    throw badRequest(
      `${JSON.stringify(id.slice(0, 80))} is not a valid FHIR id: use 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'.`,
      where,
    );
  }
}

/**
 * Checks that a request body is a resource of the type the URL names (and, for PUT, with the
 * URL's id), per https://hl7.org/fhir/R4/http.html#update. Returns it typed.
 */
export function expectResourceBody(body: unknown, resourceType: string, id?: string): Resource {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`The request body must be a ${resourceType} resource (a JSON object).`);
  }
  const resource = body as Partial<Resource>;
  if (resource.resourceType !== resourceType) {
    throw badRequest(
      resource.resourceType === undefined
        ? `The body has no resourceType; expected "resourceType": "${resourceType}".`
        : `The body's resourceType is ${JSON.stringify(resource.resourceType)} but the URL is for ${resourceType}.`,
      `${resourceType}.resourceType`,
    );
  }
  if (id !== undefined) {
    if (resource.id === undefined) {
      throw badRequest(`The body has no id; an update must carry the id from the URL ("id": "${id}").`, `${resourceType}.id`);
    }
    if (resource.id !== id) {
      throw badRequest(
        `The body's id ${JSON.stringify(resource.id)} does not match the id in the URL (${id}).`,
        `${resourceType}.id`,
      );
    }
  }
  return resource as Resource;
}

/** Drops the server-managed meta elements a client may not set (versionId, lastUpdated). */
export function withoutServerMeta<T extends Resource>(resource: T): T {
  if (!resource.meta) {
    return resource;
  }
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = resource.meta;
  return { ...resource, meta: Object.keys(meta).length ? meta : undefined };
}

/**
 * Validates a resource about to be written (base R4 structure and the Kansas profiles it claims
 * or its type implies). Errors reject the write: 400 when the resource breaks base R4, 422 when
 * only profiles reject it (https://hl7.org/fhir/R4/http.html#update). Warnings are returned for
 * the outcome.
 */
export function validateForWrite(ctx: FhirContext, resource: Resource): OperationOutcomeIssue[] {
  const issues = ctx.validator.validate(resource).map(withDiagnostics);
  if (hasErrors(issues)) {
    throw new FhirError(rejectionStatus(ctx.validator, resource), issues);
  }
  return issues;
}

/** Every issue says where and what in one line, e.g. "CarePlan.status: Missing required property". */
function withDiagnostics(issue: OperationOutcomeIssue): OperationOutcomeIssue {
  if (issue.diagnostics) {
    return issue;
  }
  const where = issue.expression?.[0];
  const what = issue.details?.text ?? issue.code;
  return { ...issue, diagnostics: where ? `${where}: ${what}` : what };
}
