import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../outcomes.ts';

/** Weak ETag of a version: `W/"3"` (https://hl7.org/fhir/R4/http.html#versioning). */
export function etagOf(resource: Resource): string {
  return weakEtag(resource.meta?.versionId ?? '1');
}

export function weakEtag(versionId: string | number): string {
  return `W/"${versionId}"`;
}

/**
 * Parses `W/"3"`, `"3"` or `3` from If-Match into a version number. A tag that is a valid FHIR id
 * but not a number (`W/"1-old"`) names no version this server ever wrote, so it is returned as
 * text and matches nothing: 412, as for any other version that does not match
 * (https://hl7.org/fhir/R4/http.html#concurrency). Only what is not a version tag at all is 400.
 */
export function parseVersionTag(header: string, name = 'If-Match'): number | string {
  // An entity tag is quoted (RFC 9110 section 8.8.3); a bare version number is accepted too.
  const match = /^\s*(?:W\/)?"([A-Za-z0-9\-.]{1,64})"\s*$/.exec(header) ?? /^\s*(\d+)\s*$/.exec(header);
  if (!match) {
    throw badRequest(`${name}: ${header} is not a version tag; send the ETag of the version you read, e.g. W/"3".`, name);
  }
  return /^\d+$/.test(match[1]) ? Number(match[1]) : match[1];
}

/**
 * Parses If-None-Match: `*` or a comma-separated list of entity tags (RFC 9110 section 13.1.2),
 * each a version tag. Returns undefined for `*` (any version matches).
 */
export function parseVersionTagList(header: string): (number | string)[] | undefined {
  if (header.trim() === '*') {
    return undefined;
  }
  return header.split(',').map((tag) => parseVersionTag(tag, 'If-None-Match'));
}

export function httpDate(instant: string): string {
  return new Date(instant).toUTCString();
}
