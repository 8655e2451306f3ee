import type { Resource } from '@medplum/fhirtypes';

/**
 * Literal references as the index holds them (https://hl7.org/fhir/R4/references.html): local
 * `Type/id` targets, with absolute URLs under this server's base made local, or the URL.
 */

const LOCAL_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Splits a literal reference into a local target or a URL (https://hl7.org/fhir/R4/references.html). */
export function parseReference(
  reference: string,
  baseUrl?: string,
): { targetType: string | null; targetId: string | null; url: string | null } {
  // An absolute URL on this server's base is a local reference (https://hl7.org/fhir/R4/search.html#reference).
  const base = baseUrl?.replace(/\/+$/, '');
  const relative = base && reference.startsWith(`${base}/`) ? reference.slice(base.length + 1) : reference;
  const local = LOCAL_REFERENCE.exec(relative);
  if (local) {
    return { targetType: local[1], targetId: local[2], url: null };
  }
  // Canonical references match without their |version suffix.
  return { targetType: null, targetId: null, url: reference.split('|')[0] };
}

/**
 * Rewrites absolute references to this server (`<base>/Patient/1`) to relative ones, so that
 * expressions such as `subject.where(resolve() is Patient)` see their type. Only when present.
 */
export function localizeReferences(resource: Resource, baseUrl: string | undefined): Resource {
  const base = baseUrl?.replace(/\/+$/, '');
  if (!base) {
    return resource;
  }
  const json = JSON.stringify(resource);
  const needle = JSON.stringify(`${base}/`).slice(0, -1);
  return json.includes(needle) ? (JSON.parse(json.replaceAll(needle, '"')) as Resource) : resource;
}
