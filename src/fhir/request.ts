import type { OperationOutcome, Resource } from '@medplum/fhirtypes';

/**
 * A FHIR REST request, independent of HTTP framework: what the HTTP edge (src/server/) parsed,
 * and what a transaction or batch entry is turned into.
 */
export interface FhirRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path relative to the FHIR base, no leading or trailing slash: "CarePlan/1/_history/2". */
  readonly path: string;
  /** Decoded query parameters in the order received. */
  readonly query: readonly (readonly [string, string])[];
  readonly headers: FhirRequestHeaders;
  /** Parsed body: a resource, a JSON Patch array, form parameters or a document. */
  readonly body?: unknown;
  /** Media type of the body without parameters, e.g. "application/fhir+json". */
  readonly contentType?: string;
}

export interface FhirRequestHeaders {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ifNoneExist?: string;
  readonly ifModifiedSince?: string;
  readonly prefer?: string;
}

export interface FhirResponse {
  readonly status: number;
  readonly resource?: Resource;
  /** Explains the result; sent instead of the resource for `Prefer: return=OperationOutcome`. */
  readonly outcome?: OperationOutcome;
  readonly location?: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /**
   * `resource` already serialized (a stored version's JSON text), sent as is unless the client
   * asks for `_pretty`; saves parsing and re-serializing what the database returned.
   */
  readonly resourceJson?: string;
  /** A non-FHIR body (e.g. the $render HTML), sent as is with its media type. */
  readonly raw?: { readonly contentType: string; readonly body: string };
  /** A body sent as it is produced, piece by piece (a Bulk Data file): memory holds one piece at a time. */
  readonly stream?: { readonly contentType: string; readonly body: AsyncIterable<string> };
  /** Other response headers (Content-Location, X-Progress, Retry-After, Expires of Bulk Data). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

/** `Prefer: return=...` (https://hl7.org/fhir/R4/http.html#ops). */
export function preferReturn(request: Pick<FhirRequest, 'headers'>): PreferReturn {
  const match = /(?:^|[;,\s])return=(minimal|representation|OperationOutcome)\b/.exec(request.headers.prefer ?? '');
  return (match?.[1] as PreferReturn | undefined) ?? 'representation';
}

/** `Prefer: handling=lenient|strict` (https://hl7.org/fhir/R4/search.html#errors). */
export function preferLenient(request: Pick<FhirRequest, 'headers'>): boolean {
  return /(?:^|[;,\s])handling=lenient\b/.test(request.headers.prefer ?? '');
}

export function queryValue(request: Pick<FhirRequest, 'query'>, name: string): string | undefined {
  return request.query.find(([key]) => key === name)?.[1];
}
