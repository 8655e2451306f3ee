import type { FhirContext } from '../context.ts';
import { informational } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { writeResource } from '../writes/write-path.ts';
import { withConditionalMatch } from './conditional.ts';
import { assertValidId } from './resource-body.ts';

/**
 * delete: https://hl7.org/fhir/R4/http.html#delete. Deleting an already deleted resource is a
 * no-op answered with 200; an id that never existed is 404 so that typos are not silent.
 */
export async function deleteResource(ctx: FhirContext, resourceType: string, id: string, ifMatch?: string): Promise<FhirResponse> {
  assertValidId(id);
  const result = await writeResource(ctx, { interaction: 'delete', resourceType, id, ifMatch });
  if (result.kind === 'deleted') {
    return {
      status: 200,
      etag: `W/"${result.versionId}"`,
      outcome: informational(`Deleted ${resourceType}/${id} (version ${result.versionId}).`),
    };
  }
  return { status: 200, outcome: informational(`${resourceType}/${id} was already deleted.`) };
}

export async function handleDelete(ctx: FhirContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  return deleteResource(ctx, resourceType, id, request.headers.ifMatch);
}

/** Conditional delete, DELETE [type]?criteria (single match; several matches are 412). */
export async function handleConditionalDelete(
  ctx: FhirContext,
  resourceType: string,
  criteria: string,
): Promise<FhirResponse> {
  return withConditionalMatch(ctx, resourceType, criteria, async (scoped, match) =>
    match
      ? deleteResource(scoped, resourceType, match)
      : { status: 200, outcome: informational(`No ${resourceType} matches ${criteria}; nothing was deleted.`) },
  );
}
