import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { badRequest } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { writeResource, type WriteResult } from '../writes/write-path.ts';
import { withConditionalMatch } from './conditional.ts';
import { locationOf, writeOutcome } from './create.ts';
import { resourceResponse } from './read.ts';
import { assertValidId, expectResourceBody } from './resource-body.ts';

/** The response to an update or patch: 201 when it created the resource, 200 otherwise. */
export function updateResponse(ctx: FhirContext, result: WriteResult): FhirResponse {
  if (result.kind !== 'written' && result.kind !== 'unchanged') {
    throw new Error(`an update ended as ${result.kind}`);
  }
  const stored = result.resource;
  const created = result.kind === 'written' && result.created;
  return {
    ...resourceResponse(stored, created ? 201 : 200),
    location: created ? locationOf(ctx, stored) : undefined,
    outcome: writeOutcome(
      result.notes,
      result.kind === 'unchanged'
        ? `${stored.resourceType}/${stored.id} already had this content; version ${stored.meta?.versionId} was kept.`
        : `${created ? 'Created' : 'Updated'} ${stored.resourceType}/${stored.id} (version ${stored.meta?.versionId}).`,
    ),
  };
}

/**
 * update: https://hl7.org/fhir/R4/http.html#update. Creates the resource when the id is new
 * (update-as-create, 201) and honours If-Match (412 on a stale version).
 */
export async function updateResource(ctx: FhirContext, body: Resource & { id: string }, ifMatch?: string): Promise<FhirResponse> {
  assertValidId(body.id);
  return updateResponse(ctx, await writeResource(ctx, { interaction: 'update', resource: body, ifMatch }));
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
