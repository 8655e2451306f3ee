import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../outcomes.ts';

/** Weak ETag of a version: `W/"3"` (https://hl7.org/fhir/R4/http.html#versioning). */
export function etagOf(resource: Resource): string {
  return weakEtag(resource.meta?.versionId ?? '1');
}

export function weakEtag(versionId: string | number): string {
  return `W/"${versionId}"`;
}

/** Parses `W/"3"`, `"3"` or `3` from If-Match into a version number. */
export function parseVersionTag(header: string, name = 'If-Match'): number {
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (!match) {
    throw badRequest(`${name}: ${header} is not a version tag; send the ETag of the version you read, e.g. W/"3".`, name);
  }
  return Number(match[1]);
}

/**
 * Parses If-None-Match: `*` or a comma-separated list of entity tags (RFC 9110 section 13.1.2),
 * each a version tag. Returns undefined for `*` (any version matches).
 */
export function parseVersionTagList(header: string): number[] | undefined {
  if (header.trim() === '*') {
    return undefined;
  }
  return header.split(',').map((tag) => parseVersionTag(tag, 'If-None-Match'));
}

export function httpDate(instant: string): string {
  return new Date(instant).toUTCString();
}
