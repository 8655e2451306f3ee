import type { FhirContext } from '../context.ts';
import { informational, notFound } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { parseVersionTag } from '../versioning.ts';
import { withConditionalMatch } from './conditional.ts';
import { assertValidId } from './resource-body.ts';

/**
 * delete: https://hl7.org/fhir/R4/http.html#delete. Deleting an already deleted resource is a
 * no-op answered with 200; an id that never existed is 404 so that typos are not silent.
 */
export async function deleteResource(ctx: FhirContext, resourceType: string, id: string, ifMatch?: string): Promise<FhirResponse> {
  assertValidId(id);
  const expectedVersion = ifMatch === undefined ? undefined : parseVersionTag(ifMatch);
  return ctx.repo.transaction(async (repo) => {
    const deleted = await repo.delete(resourceType, id, { expectedVersion });
    if (deleted) {
      return {
        status: 200,
        etag: `W/"${deleted.versionId}"`,
        outcome: informational(`Deleted ${resourceType}/${id} (version ${deleted.versionId}).`),
      };
    }
    const current = await repo.readCurrent(resourceType, id);
    if (!current) {
      throw notFound(`${resourceType}/${id} does not exist; nothing was deleted.`);
    }
    return { status: 200, outcome: informational(`${resourceType}/${id} was already deleted.`) };
  });
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
