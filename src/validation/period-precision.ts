import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * Invariant per-1 of Period, "start <= end" (https://hl7.org/fhir/R4/datatypes.html#Period), where
 * start and end are given at different precisions. FHIRPath compares date/time values component by
 * component and answers empty when they agree down to the coarser one's precision
 * (https://hl7.org/fhirpath/N1/#comparison): `2023-06-21` against `2023-06-21T06:20:00Z` cannot be
 * ordered, and an invariant that does not evaluate to true fails. The HL7 validator fails such a
 * Period; @medplum/core lets it pass, so kanplan checks this case itself. Values of the same
 * precision, and ones ordered by a coarser component, are left to @medplum/core.
 */

const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?)?)?/;

function components(value: string): string[] | undefined {
  const m = DATE_TIME.exec(value);
  return m ? m.slice(1).filter((part): part is string => part !== undefined) : undefined;
}

export function checkPeriodPrecision(period: Record<string, unknown>, path: string, issues: OperationOutcomeIssue[]): void {
  const { start, end } = period;
  if (typeof start !== 'string' || typeof end !== 'string') {
    return;
  }
  const a = components(start);
  const b = components(end);
  // Both with a time are compared in UTC by FHIRPath (their zones are required): left to @medplum/core.
  if (!a || !b || a.length === b.length || Math.min(a.length, b.length) > 3) {
    return;
  }
  const shared = Math.min(a.length, b.length);
  if (a.slice(0, shared).join('-') === b.slice(0, shared).join('-')) {
    const text = `${path}: start ${start} and end ${end} cannot be ordered at their different precisions (start <= end); give both at the same precision, e.g. both as dates or both as date and time`;
    issues.push({ severity: 'error', code: 'invariant', details: { text }, diagnostics: 'rule invariant per-1', expression: [path] });
  }
}
