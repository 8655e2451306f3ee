import {
  OperationOutcomeError,
  applyPatch,
  deepClone,
  fhirpathPatchTypedValue,
  parseFhirPathPatchParameters,
} from '@medplum/core';
import type { Parameters, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { badRequest, notFound, unsupportedMediaType } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { withConditionalMatch } from './conditional.ts';
import { writeResource } from '../writes/write-path.ts';
import { assertValidId } from './resource-body.ts';
import { updateResponse } from './update.ts';

/** One RFC 6902 operation as received. */
interface JsonPatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function applyJsonPatch(resource: Resource, operations: unknown): Resource {
  if (!Array.isArray(operations)) {
    throw badRequest('A JSON Patch body must be an array of operations (RFC 6902), e.g. [{"op":"replace","path":"/status","value":"active"}].');
  }
  operations.forEach((operation: JsonPatchOperation, index) => {
    if (typeof operation !== 'object' || operation === null || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw badRequest(`JSON Patch operation ${index} needs "op" and "path" strings.`, `[${index}]`);
    }
  });
  const patched = deepClone(resource);
  const errors = applyPatch(patched, operations as never);
  const failed = errors.findIndex((error) => error !== null);
  if (failed >= 0) {
    const error = errors[failed] as { name?: string; message?: string };
    throw badRequest(
      `JSON Patch operation ${failed} (${(operations as JsonPatchOperation[])[failed].op} ${(operations as JsonPatchOperation[])[failed].path}) failed: ${error.message ?? error.name}.`,
      `[${failed}]`,
    );
  }
  return patched;
}

/**
 * Each parameter of a FHIRPath Patch is an `operation` with at least a `type` code and a `path`
 * string (https://hl7.org/fhir/R4/fhirpatch.html); @medplum/core fails on others with messages
 * that don't say what to fix.
 */
function assertPatchOperations(body: Parameters): void {
  (body.parameter ?? []).forEach((parameter, index) => {
    const where = `Parameters.parameter[${index}]`;
    const part = (name: string) => parameter.part?.find((p) => p.name === name);
    if (parameter.name !== 'operation') {
      throw badRequest(`${where} is named ${JSON.stringify(parameter.name)}; every parameter of a FHIRPath Patch is an "operation".`, `${where}.name`);
    }
    if (typeof part('type')?.valueCode !== 'string' || typeof part('path')?.valueString !== 'string') {
      throw badRequest(`${where} needs a "type" part (valueCode add, insert, delete, replace or move) and a "path" part (valueString FHIRPath).`, `${where}.part`);
    }
  });
}

function applyFhirPathPatch(resource: Resource, parameters: unknown): Resource {
  const body = parameters as Parameters;
  if (body?.resourceType !== 'Parameters') {
    throw badRequest('A FHIRPath Patch body must be a Parameters resource (https://hl7.org/fhir/R4/fhirpatch.html).');
  }
  assertPatchOperations(body);
  const patched = deepClone(resource);
  try {
    fhirpathPatchTypedValue({ type: resource.resourceType, value: patched }, parseFhirPathPatchParameters(body));
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      throw badRequest(`FHIRPath Patch failed: ${err.outcome.issue?.[0]?.details?.text ?? err.message}`);
    }
    throw badRequest(`FHIRPath Patch failed: ${(err as Error).message}`);
  }
  return patched;
}

/** Applies the body of a PATCH by its media type (https://hl7.org/fhir/R4/http.html#patch). */
export function applyPatchBody(resource: Resource, contentType: string | undefined, body: unknown): Resource {
  if (contentType === 'application/json-patch+json') {
    return applyJsonPatch(resource, body);
  }
  if (contentType === 'application/fhir+json' || contentType === 'application/json') {
    return applyFhirPathPatch(resource, body);
  }
  throw unsupportedMediaType(
    `PATCH takes application/json-patch+json (JSON Patch) or application/fhir+json (FHIRPath Patch Parameters), not ${contentType ?? 'no Content-Type'}.`,
  );
}

/** patch: https://hl7.org/fhir/R4/http.html#patch, through the write path (one read under lock; history records PATCH). */
export async function patchResource(
  ctx: FhirContext,
  resourceType: string,
  id: string,
  contentType: string | undefined,
  body: unknown,
  ifMatch?: string,
): Promise<FhirResponse> {
  assertValidId(id);
  const patch = (current: Resource): Resource => applyPatchBody(current, contentType, body);
  return updateResponse(ctx, await writeResource(ctx, { interaction: 'patch', resourceType, id, patch, ifMatch }));
}

export async function handlePatch(ctx: FhirContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  return patchResource(ctx, resourceType, id, request.contentType, request.body, request.headers.ifMatch);
}

/** Conditional patch, PATCH [type]?criteria. */
export async function handleConditionalPatch(
  ctx: FhirContext,
  request: FhirRequest,
  resourceType: string,
  criteria: string,
): Promise<FhirResponse> {
  return withConditionalMatch(ctx, resourceType, criteria, async (scoped, match) => {
    if (!match) {
      throw notFound(`No ${resourceType} matches ${criteria}; nothing was patched.`);
    }
    return patchResource(scoped, resourceType, match, request.contentType, request.body, request.headers.ifMatch);
  });
}
