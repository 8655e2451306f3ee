import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { badRequest, informational } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { parseVersionTag } from '../versioning.ts';
import { withConditionalMatch } from './conditional.ts';
import { locationOf } from './create.ts';
import { resourceResponse } from './read.ts';
import { assertValidId, expectResourceBody, validateForWrite, withoutServerMeta } from './resource-body.ts';

/**
 * update: https://hl7.org/fhir/R4/http.html#update. Creates the resource when the id is new
 * (update-as-create, 201) and honours If-Match (412 on a stale version).
 */
export async function updateResource(
  ctx: FhirContext,
  body: Resource & { id: string },
  ifMatch?: string,
): Promise<FhirResponse> {
  assertValidId(body.id);
  const resource = withoutServerMeta(body);
  const warnings = validateForWrite(ctx, resource);
  const expectedVersion = ifMatch === undefined ? undefined : parseVersionTag(ifMatch);
  const result = await ctx.repo.update(resource, { expectedVersion });
  const stored = result.resource;
  return {
    ...resourceResponse(stored, result.created ? 201 : 200),
    location: result.created ? locationOf(ctx, stored) : undefined,
    outcome: warnings.length
      ? { resourceType: 'OperationOutcome', issue: warnings }
      : informational(
          result.unchanged
            ? `${stored.resourceType}/${stored.id} already had this content; version ${stored.meta?.versionId} was kept.`
            : `${result.created ? 'Created' : 'Updated'} ${stored.resourceType}/${stored.id} (version ${stored.meta?.versionId}).`,
        ),
  };
}

export async function handleUpdate(ctx: FhirContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  assertValidId(id);
  const body = expectResourceBody(request.body, resourceType, id) as Resource & { id: string };
  return updateResource(ctx, body, request.headers.ifMatch);
}

/** Conditional update, PUT [type]?criteria: https://hl7.org/fhir/R4/http.html#cond-update */
export async function handleConditionalUpdate(
  ctx: FhirContext,
  request: FhirRequest,
  resourceType: string,
  criteria: string,
): Promise<FhirResponse> {
  const body = expectResourceBody(request.body, resourceType);
  return withConditionalMatch(ctx, resourceType, criteria, async (scoped, match) => {
    if (match && body.id !== undefined && body.id !== match) {
      throw badRequest(
        `The body's id ${body.id} differs from ${resourceType}/${match}, which matches ${criteria}; omit the id or use the matching one.`,
        `${resourceType}.id`,
      );
    }
    const id = match ?? body.id ?? randomUUID();
    return updateResource(scoped, { ...body, id }, request.headers.ifMatch);
  });
}
