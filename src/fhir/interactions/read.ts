import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { gone, notFound } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { StoredVersion } from '../../store/repository.ts';
import { etagOf, parseVersionTagList, weakEtag } from '../versioning.ts';
import { assertValidId } from './resource-body.ts';

/** The current version as stored, or 404 (never existed) / 410 (deleted). */
async function readCurrentVersion(ctx: FhirContext, resourceType: string, id: string, lock: boolean): Promise<StoredVersion & { resource: Resource }> {
  assertValidId(id);
  const current = await ctx.repo.readCurrent(resourceType, id, lock);
  if (!current) {
    throw notFound(`${resourceType}/${id} does not exist.`);
  }
  if (current.deleted || !current.content) {
    throw gone(`${resourceType}/${id} was deleted (version ${current.versionId}, ${current.lastUpdated}).`);
  }
  return current as StoredVersion & { resource: Resource };
}

/** The current version, or 404 (never existed) / 410 (deleted). */
export async function readCurrentResource(ctx: FhirContext, resourceType: string, id: string, lock = false): Promise<Resource> {
  return (await readCurrentVersion(ctx, resourceType, id, lock)).resource;
}

/**
 * A 200 response for a stored version that forwards its JSON text; the parsed resource is there
 * for callers that need it (batch and transaction GET entries), parsed only when they ask.
 */
function storedVersionResponse(version: StoredVersion & { resource: Resource }): FhirResponse {
  return {
    status: 200,
    resourceJson: version.content,
    get resource() {
      return version.resource;
    },
    etag: weakEtag(version.versionId),
    lastModified: version.lastUpdated,
  };
}

/** A 200 response carrying a resource with its version headers. */
export function resourceResponse(resource: Resource, status = 200): FhirResponse {
  return { status, resource, etag: etagOf(resource), lastModified: resource.meta?.lastUpdated };
}

function notModified(request: FhirRequest, version: StoredVersion): boolean {
  const { ifNoneMatch, ifModifiedSince } = request.headers;
  if (ifNoneMatch !== undefined) {
    const versions = parseVersionTagList(ifNoneMatch);
    return versions === undefined || versions.includes(version.versionId);
  }
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have second precision; lastUpdated has milliseconds.
    return !Number.isNaN(since) && Math.floor(Date.parse(version.lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}

/** read: https://hl7.org/fhir/R4/http.html#read, with conditional read (304). */
export async function readResource(ctx: FhirContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  const version = await readCurrentVersion(ctx, resourceType, id, false);
  if (notModified(request, version)) {
    return { status: 304, etag: weakEtag(version.versionId), lastModified: version.lastUpdated };
  }
  return storedVersionResponse(version);
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
