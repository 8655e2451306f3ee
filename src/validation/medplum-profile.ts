import type { OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';

/**
 * The boundary with @medplum/core's structure validator: the copy of a profile it is given (two
 * workarounds for what it cannot read) and the issues it returns, annotated with the profile and
 * the rule that failed.
 */

/**
 * Invariants that @medplum/core's FHIRPath engine cannot evaluate as written: it throws on `or`
 * between non-boolean collections. US Core 6.1.0 PractitionerRole pd-1 "telecom or endpoint" and
 * us-core-13 "practitioner or organization or healthcareService or location" made every
 * PractitionerRole fail with "Error evaluating invariant expression". An expression that is only
 * `a or b or ...` over element names is rewritten to the equivalent `a.exists() or b.exists() ...`
 * (FHIRPath: a non-empty collection used as a boolean is true).
 */
const BARE_OR = /^[A-Za-z]+( or [A-Za-z]+)+$/;

function fixInvariant(expression: string | undefined): string | undefined {
  if (!expression || !BARE_OR.test(expression)) {
    return undefined;
  }
  return expression
    .split(' or ')
    .map((name) => `${name}.exists()`)
    .join(' or ');
}


/**
 * medplum 5.2.13 mis-parses a complex extension expanded inside a profile snapshot: the
 * sub-extension slices (`X.extension:slice.extension:sub`) are taken as slices of `X.extension`
 * itself, so every resource with the extension fails. Medplum only needs the slice element and its
 * `.url` (fixedUri) to match and count the slice (snapshots.md caveat (a)); the extension's content
 * is checked by our own rules against the extension definition. So those descendants are removed
 * from the copy handed to medplum.
 */
export function snapshotForMedplum(sd: StructureDefinition): StructureDefinition {
  const elements = (sd.snapshot?.element ?? []).map((e) =>
    e.constraint?.some((c) => fixInvariant(c.expression))
      ? { ...e, constraint: e.constraint.map((c) => ({ ...c, expression: fixInvariant(c.expression) ?? c.expression })) }
      : e,
  );
  const extensionSlices = elements
    .filter((e) => e.sliceName && e.type?.length === 1 && e.type[0].code === 'Extension' && e.type[0].profile?.length)
    .map((e) => e.id as string);
  if (extensionSlices.length === 0) {
    return { ...sd, snapshot: { ...sd.snapshot, element: elements } };
  }
  const keep = elements.filter((e) => {
    const id = e.id as string;
    return !extensionSlices.some((slice) => id.startsWith(slice + '.') && id !== slice + '.url');
  });
  return { ...sd, snapshot: { ...sd.snapshot, element: keep } };
}

/** Names the rule behind a @medplum/core validation message (its messages are fixed strings). */
export function medplumRule(text: string): string {
  if (text === 'Missing required property' || text.startsWith('Invalid number of values')) {
    return 'cardinality';
  }
  if (text.startsWith('Incorrect number of values provided for slice')) {
    return 'slice-cardinality';
  }
  if (text === 'Value did not match expected pattern') {
    return 'fixed-or-pattern';
  }
  const invariant = /^Constraint (\S+) not met/.exec(text);
  if (invariant) {
    return `invariant ${invariant[1]}`;
  }
  if (text.startsWith('Invalid additional property')) {
    return 'unknown-element';
  }
  if (text.startsWith('Invalid reference')) {
    return 'reference-target';
  }
  if (/^Invalid (JSON type|\S+ (format|value))|^Expected number|^String /.test(text)) {
    return 'primitive-format';
  }
  return 'structure';
}

/** medplum's issues do not say which profile and rule failed; each issue must (issue 5, "Errors"). */
export function annotateMedplumIssues(issues: readonly OperationOutcomeIssue[], profileUrl: string): OperationOutcomeIssue[] {
  return issues.map((issue) => {
    const rule = medplumRule(issue.details?.text ?? '');
    const element = issue.expression?.[0]?.replace(/\[\d+\]/g, '');
    const where = `profile ${profileUrl}${element ? `, element ${element}` : ''}, rule ${rule}`;
    return { ...issue, diagnostics: issue.diagnostics ? `${where}; ${issue.diagnostics}` : where };
  });
}
