import type { Binary, Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { badRequest, payloadTooLarge } from '../../outcomes.ts';
import type { FhirRequest } from '../request.ts';

const ENTRY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type EntryMethod = (typeof ENTRY_METHODS)[number];

/** One batch or transaction entry, checked and parsed into the request it stands for. */
export interface BundleRequestEntry {
  readonly index: number;
  readonly fullUrl?: string;
  readonly request: FhirRequest;
}

/** A batch or transaction Bundle as received, checked against the limits. */
export function expectRequestBundle(body: unknown, maxEntries: number): Bundle & { type: 'batch' | 'transaction' } {
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle') {
    throw badRequest('POST to the base URL takes a Bundle of type batch or transaction.', 'Bundle.resourceType');
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest(
      `Bundle.type is ${JSON.stringify(bundle.type)}; the base URL processes only batch and transaction Bundles (store other Bundles with POST /Bundle).`,
      'Bundle.type',
    );
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) {
    throw badRequest('Bundle.entry must be an array of entries, each with a request (and a resource for POST and PUT).', 'Bundle.entry');
  }
  const count = bundle.entry?.length ?? 0;
  if (count > maxEntries) {
    throw payloadTooLarge(
      `The Bundle has ${count} entries; this server accepts at most ${maxEntries} per batch or transaction: split it, or raise MAX_BUNDLE_ENTRIES (and MAX_BODY_SIZE if the body is larger too).`,
      'Bundle.entry',
    );
  }
  assertDistinctFullUrls(bundle.entry ?? []);
  return bundle as Bundle & { type: 'batch' | 'transaction' };
}

/**
 * bdl-7 (https://hl7.org/fhir/R4/bundle.html#invs): fullUrl is unique in a Bundle unless the
 * entries carry different meta.versionId; otherwise references to it would be ambiguous.
 */
function assertDistinctFullUrls(entries: readonly BundleEntry[]): void {
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    if (typeof entry?.fullUrl !== 'string') return;
    const key = `${entry.fullUrl}|${entry.resource?.meta?.versionId ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw badRequest(
        `Bundle.entry[${index}].fullUrl ${entry.fullUrl} is also the fullUrl of Bundle.entry[${first}]; give each entry its own fullUrl (bdl-7).`,
        `Bundle.entry[${index}].fullUrl`,
      );
    }
    seen.set(key, index);
  });
}

/** Turns an entry's request.url (relative, or absolute under this server's base) into path and query. */
function splitEntryUrl(url: string, baseUrl: string, index: number): { path: string; query: [string, string][] } {
  let relative = url;
  if (/^https?:\/\//.test(url)) {
    if (!url.startsWith(`${baseUrl}/`)) {
      throw badRequest(`Bundle.entry[${index}].request.url ${url} is not on this server (${baseUrl}).`, `Bundle.entry[${index}].request.url`);
    }
    relative = url.slice(baseUrl.length + 1);
  }
  const [path, search = ''] = relative.replace(/^\/+/, '').split(/\?(.*)/s, 2);
  return { path: path.replace(/\/+$/, ''), query: [...new URLSearchParams(search)] };
}

/**
 * The body of a PATCH entry: a Parameters resource (FHIRPath Patch) or a Binary holding a JSON
 * Patch (https://hl7.org/fhir/R4/http.html#transaction, "PATCH" note).
 */
function patchBody(resource: Resource | undefined, index: number): { contentType: string; body: unknown } {
  if (resource?.resourceType === 'Parameters') {
    return { contentType: 'application/fhir+json', body: resource };
  }
  const binary = resource as Binary | undefined;
  if (binary?.resourceType === 'Binary' && binary.contentType === 'application/json-patch+json' && binary.data) {
    try {
      return { contentType: binary.contentType, body: JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8')) };
    } catch {
      throw badRequest(`Bundle.entry[${index}].resource.data is not base64-encoded JSON Patch.`, `Bundle.entry[${index}].resource.data`);
    }
  }
  throw badRequest(
    `Bundle.entry[${index}] is a PATCH: its resource must be a Parameters (FHIRPath Patch) or a Binary with contentType application/json-patch+json.`,
    `Bundle.entry[${index}].resource`,
  );
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string element of entry.request (url, ifMatch ...): absent, or a string; anything else is 400. */
function requestString(entry: BundleEntry, name: 'url' | 'ifMatch' | 'ifNoneExist' | 'ifNoneMatch' | 'ifModifiedSince', where: string): string | undefined {
  const value: unknown = entry.request?.[name];
  if (value !== undefined && typeof value !== 'string') {
    throw badRequest(`${where}.request.${name} must be a string.`, `${where}.request.${name}`);
  }
  return value;
}

export function parseBundleEntry(entry: BundleEntry, index: number, baseUrl: string): BundleRequestEntry {
  const where = `Bundle.entry[${index}]`;
  if (!isObject(entry) || !isObject(entry?.request)) {
    throw badRequest(`${where} must be an object with a request ({"request": {"method": ..., "url": ...}}).`, `${where}.request`);
  }
  const method = entry.request?.method as EntryMethod | undefined;
  if (!method || !ENTRY_METHODS.includes(method)) {
    throw badRequest(`${where}.request.method must be one of ${ENTRY_METHODS.join(', ')}.`, `${where}.request.method`);
  }
  const url = requestString(entry, 'url', where);
  if (!url) {
    throw badRequest(`${where}.request.url is required (e.g. "CarePlan" for a POST, "CarePlan/123" for a PUT).`, `${where}.request.url`);
  }
  const { path, query } = splitEntryUrl(url, baseUrl, index);
  if ((method === 'POST' || method === 'PUT') && !entry.resource) {
    throw badRequest(`${where} is a ${method} without a resource.`, `${where}.resource`);
  }
  const patch = method === 'PATCH' ? patchBody(entry.resource, index) : undefined;
  return {
    index,
    fullUrl: entry.fullUrl,
    request: {
      method,
      path,
      query,
      body: patch ? patch.body : entry.resource,
      contentType: patch ? patch.contentType : 'application/fhir+json',
      headers: {
        ifMatch: requestString(entry, 'ifMatch', where),
        ifNoneExist: requestString(entry, 'ifNoneExist', where),
        ifNoneMatch: requestString(entry, 'ifNoneMatch', where),
        ifModifiedSince: requestString(entry, 'ifModifiedSince', where),
      },
    },
  };
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone',
  412: 'Precondition Failed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity',
  500: 'Internal Server Error',
};

export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
}
