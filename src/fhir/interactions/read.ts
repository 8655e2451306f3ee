import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { gone, notFound } from '../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { etagOf, parseVersionTag } from '../versioning.ts';
import { assertValidId } from './resource-body.ts';

/** The current version, or 404 (never existed) / 410 (deleted). */
export async function readCurrentResource(ctx: FhirContext, resourceType: string, id: string, lock = false): Promise<Resource> {
  assertValidId(id);
  const current = await ctx.repo.readCurrent(resourceType, id, lock);
  if (!current) {
    throw notFound(`${resourceType}/${id} does not exist.`);
  }
  if (current.deleted || !current.resource) {
    throw gone(`${resourceType}/${id} was deleted (version ${current.versionId}, ${current.lastUpdated}).`);
  }
  return current.resource;
}

/** A 200 response carrying a resource with its version headers. */
export function resourceResponse(resource: Resource, status = 200): FhirResponse {
  return { status, resource, etag: etagOf(resource), lastModified: resource.meta?.lastUpdated };
}

function notModified(request: FhirRequest, resource: Resource): boolean {
  const { ifNoneMatch, ifModifiedSince } = request.headers;
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.trim() === '*' || parseVersionTag(ifNoneMatch, 'If-None-Match') === Number(resource.meta?.versionId);
  }
  if (ifModifiedSince !== undefined && resource.meta?.lastUpdated) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have second precision; lastUpdated has milliseconds.
    return !Number.isNaN(since) && Math.floor(Date.parse(resource.meta.lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}

/** read: https://hl7.org/fhir/R4/http.html#read, with conditional read (304). */
export async function readResource(ctx: FhirContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  const resource = await readCurrentResource(ctx, resourceType, id);
  if (notModified(request, resource)) {
    return { status: 304, etag: etagOf(resource), lastModified: resource.meta?.lastUpdated };
  }
  return resourceResponse(resource);
}

/** vread: https://hl7.org/fhir/R4/http.html#vread */
export async function vreadResource(ctx: FhirContext, resourceType: string, id: string, versionId: string): Promise<FhirResponse> {
  assertValidId(id);
  if (!/^\d{1,9}$/.test(versionId)) {
    throw notFound(`Version ${JSON.stringify(versionId)} of ${resourceType}/${id} does not exist; version ids are 1, 2, 3 ...`);
  }
  const version = await ctx.repo.readVersion(resourceType, id, Number(versionId));
  if (!version) {
    throw notFound(`Version ${versionId} of ${resourceType}/${id} does not exist.`);
  }
  if (version.deleted || !version.resource) {
    throw gone(`Version ${versionId} of ${resourceType}/${id} is the record of its deletion (${version.lastUpdated}).`);
  }
  return resourceResponse(version.resource);
}
