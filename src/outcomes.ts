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

export function outcomeOf(err: unknown): OperationOutcome {
  if (err instanceof OperationOutcomeError) {
    return { ...err.outcome, id: undefined };
  }
  return {
    resourceType: 'OperationOutcome',
    issue: [issue('exception', 'Internal server error; the failure was logged. The request changed nothing.')],
  };
}

export function informational(diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [issue('informational', diagnostics, undefined, 'information')] };
}
