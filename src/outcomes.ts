import { OperationOutcomeError, getStatus } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

type IssueCode = OperationOutcomeIssue['code'];

/**
 * An error a FHIR interaction answers with: an HTTP status and the OperationOutcome that explains
 * it. Thrown anywhere below the HTTP edge; `server/` turns it into the response.
 * See https://hl7.org/fhir/R4/http.html#Status-Codes.
 */
export class FhirError extends OperationOutcomeError {
  readonly status: number;

  constructor(status: number, issues: OperationOutcomeIssue[]) {
    super({ resourceType: 'OperationOutcome', issue: issues });
    this.status = status;
  }
}

export function issue(
  code: IssueCode,
  diagnostics: string,
  expression?: string | string[],
  severity: OperationOutcomeIssue['severity'] = 'error',
): OperationOutcomeIssue {
  return {
    severity,
    code,
    details: { text: diagnostics },
    diagnostics,
    ...(expression === undefined ? {} : { expression: Array.isArray(expression) ? expression : [expression] }),
  };
}

/**
 * 405: carries the methods the target does allow, which the HTTP edge sends as the `Allow`
 * header a 405 must have (https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6).
 */
export class MethodNotAllowedError extends FhirError {
  readonly allow: readonly string[];

  constructor(diagnostics: string, allow: readonly string[]) {
    super(405, [issue('not-supported', diagnostics)]);
    this.allow = allow;
  }
}

/**
 * What a bearer-token failure tells the client beyond the OperationOutcome: the RFC 6750 §3 error
 * code, its description, and for `insufficient_scope` the scope that would allow the request
 * (https://www.rfc-editor.org/rfc/rfc6750#section-3.1). The HTTP edge sends it as the
 * `WWW-Authenticate: Bearer` challenge; nothing below `server/` formats headers.
 */
export interface BearerChallenge {
  /** Absent when the request carried no token at all (RFC 6750 §3.1: no error code then). */
  readonly error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  readonly description?: string;
  /** Space-separated scopes, for `insufficient_scope`. */
  readonly scope?: string;
}

/** 401 or 403 caused by the access token (or its absence), carrying the bearer challenge. */
export class BearerTokenError extends FhirError {
  readonly challenge: BearerChallenge;

  constructor(status: number, issues: OperationOutcomeIssue[], challenge: BearerChallenge) {
    super(status, issues);
    this.challenge = challenge;
  }
}

/** 401: the request carried no access token. */
export function missingToken(diagnostics: string): BearerTokenError {
  return new BearerTokenError(401, [issue('login', diagnostics)], {});
}

/** 401: the access token is expired, malformed, badly signed, or for another issuer or audience. */
export function invalidToken(diagnostics: string, description = diagnostics): BearerTokenError {
  return new BearerTokenError(401, [issue('login', diagnostics)], { error: 'invalid_token', description });
}

/** 403: the token is valid but none of its scopes allows the request; `scope` would. */
export function insufficientScope(diagnostics: string, scope: string): BearerTokenError {
  return new BearerTokenError(403, [issue('forbidden', diagnostics)], { error: 'insufficient_scope', description: diagnostics, scope });
}

/**
 * 503 with `Retry-After`: the server cannot take the request now but will soon
 * (https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4); the HTTP edge sends the header.
 */
export class RetryLaterError extends FhirError {
  readonly retryAfterSeconds: number;

  constructor(code: 'transient' | 'too-costly', diagnostics: string, retryAfterSeconds: number) {
    super(503, [issue(code, diagnostics)]);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const fail =
  (status: number, code: IssueCode) =>
  (diagnostics: string, expression?: string | string[]): FhirError =>
    new FhirError(status, [issue(code, diagnostics, expression)]);

export const badRequest = fail(400, 'invalid');
export const invalidStructure = fail(400, 'structure');
export const unauthorized = fail(401, 'login');
export const forbidden = fail(403, 'forbidden');
export const notFound = fail(404, 'not-found');
export const methodNotAllowed = fail(405, 'not-supported');
export const notAcceptable = fail(406, 'not-supported');
export const conflict = fail(409, 'conflict');
export const gone = fail(410, 'deleted');
export const preconditionFailed = fail(412, 'conflict');
export const payloadTooLarge = fail(413, 'too-costly');
export const unsupportedMediaType = fail(415, 'not-supported');
export const businessRule = fail(422, 'business-rule');
export const notSupported = fail(400, 'not-supported');

/** The HTTP status for anything thrown by an interaction. */
export function statusOf(err: unknown): number {
  if (err instanceof FhirError) {
    return err.status;
  }
  if (err instanceof OperationOutcomeError) {
    return getStatus(err.outcome);
  }
  return 500;
}

/** The OperationOutcome of anything thrown; an unexpected error says only that it was logged, under which request id. */
export function outcomeOf(err: unknown, requestId?: string): OperationOutcome {
  if (err instanceof OperationOutcomeError) {
    return { ...err.outcome, id: undefined };
  }
  const logged = requestId ? `the failure was logged with request id ${requestId}` : 'the failure was logged';
  return {
    resourceType: 'OperationOutcome',
    issue: [issue('exception', `Internal server error; ${logged}. The request changed nothing.`)],
  };
}

export function informational(diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [issue('informational', diagnostics, undefined, 'information')] };
}
