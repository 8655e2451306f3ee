import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { informational } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { writeResource } from '../writes/write-path.ts';
import { withConditionalMatch } from './conditional.ts';
import { readCurrentResource, resourceResponse } from './read.ts';
import { expectResourceBody } from './resource-body.ts';

export function locationOf(ctx: FhirContext, resource: Resource): string {
  return `${ctx.config.baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
}

/** The write's notes (warnings from the rules) as the outcome, or one informational issue. */
export function writeOutcome(notes: readonly OperationOutcomeIssue[], otherwise: string): FhirResponse['outcome'] {
  return notes.length ? { resourceType: 'OperationOutcome', issue: [...notes] } : informational(otherwise);
}

/**
 * create: https://hl7.org/fhir/R4/http.html#create. The server assigns the id: any id in the
 * body is ignored, as the spec requires. `id` is set only by a transaction that pre-assigned one
 * for a urn:uuid entry.
 */
export async function createResource(ctx: FhirContext, body: Resource, id?: string): Promise<FhirResponse> {
  const result = await writeResource(ctx, { interaction: 'create', resource: body, id });
  if (result.kind !== 'written') {
    throw new Error(`a create ended as ${result.kind}`);
  }
  const stored = result.resource;
  return {
    ...resourceResponse(stored, 201),
    location: locationOf(ctx, stored),
    outcome: writeOutcome(result.notes, `Created ${stored.resourceType}/${stored.id}.`),
  };
}

/** POST [type], honouring If-None-Exist (conditional create). */
export async function handleCreate(ctx: FhirContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const body = expectResourceBody(request.body, resourceType);
  const criteria = request.headers.ifNoneExist;
  if (criteria === undefined) {
    return createResource(ctx, body);
  }
  return withConditionalMatch(ctx, resourceType, criteria, async (scoped, existing) => {
    if (existing) {
      const resource = await readCurrentResource(scoped, resourceType, existing);
      return {
        ...resourceResponse(resource),
        location: locationOf(ctx, resource),
        outcome: informational(`${resourceType}/${existing} already matches If-None-Exist: ${criteria}; nothing was created.`),
      };
    }
    return createResource(scoped, body);
  });
}
