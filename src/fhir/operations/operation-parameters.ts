import type { OperationOutcomeIssue, Parameters } from '@medplum/fhirtypes';
import { badRequest } from '../../outcomes.ts';

/** A FHIR instant (https://hl7.org/fhir/R4/datatypes.html#instant): date, time to the second, zone. */
const FHIR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The values of an operation's input parameters by name, as strings (GET query or POST Parameters). */
export function parameterStrings(parameters: Parameters, name: string): string[] {
  return (parameters.parameter ?? [])
    .filter((p) => p.name === name)
    .map((p) => {
      const entry = Object.entries(p).find(([key]) => key.startsWith('value'));
      return entry === undefined ? '' : String(entry[1]);
    });
}

/** `_since` and the like: an instant with its zone, as an ISO string in UTC. */
export function instantParameter(parameters: Parameters, name: string): string | undefined {
  const [value] = parameterStrings(parameters, name);
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (!FHIR_INSTANT.test(value) || Number.isNaN(time)) {
    throw badRequest(`${name}=${value} is not a FHIR instant; give date, time and zone, e.g. ${name}=2026-01-31T02:00:00Z.`, name);
  }
  return new Date(time).toISOString();
}

/** Comma-separated values of every occurrence of a parameter (`_type=Patient,CarePlan&_type=Goal`). */
export function listParameter(parameters: Parameters, name: string): string[] | undefined {
  const values = parameterStrings(parameters, name);
  if (values.length === 0) return undefined;
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

/**
 * Parameters the operation does not support: 400 naming them, or — with `Prefer: handling=lenient`
 * (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters) — ignored and reported.
 */
export function refuseUnsupported(parameters: Parameters, supported: ReadonlySet<string>, lenient: boolean, issues: OperationOutcomeIssue[]): void {
  const unsupported = [...new Set((parameters.parameter ?? []).map((p) => p.name).filter((name) => !supported.has(name)))];
  if (unsupported.length === 0) return;
  const message = `Parameter${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')} ${unsupported.length > 1 ? 'are' : 'is'} not supported here (supported: ${[...supported].filter((n) => !n.startsWith('_format') && n !== '_pretty').join(', ')})`;
  if (!lenient) {
    throw badRequest(`${message}; remove ${unsupported.length > 1 ? 'them' : 'it'}, or send Prefer: handling=lenient to have ${unsupported.length > 1 ? 'them' : 'it'} ignored.`, unsupported[0]);
  }
  issues.push({ severity: 'warning', code: 'not-supported', diagnostics: `${message}; ignored (Prefer: handling=lenient).` });
}
