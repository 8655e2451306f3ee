import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadConformance } from '../conformance/conformance.ts';
import { checkDocument, parseDocumentText, problemsToOutcome } from '../documents/check-document.ts';
import { mapDocumentToBundle } from '../documents/document-mapping.ts';
import { validateBundleEntries } from '../validation/validate-bundle.ts';
import { createResourceValidator, hasErrors, type ResourceValidator } from '../validation/validator.ts';
import { defineCommand } from './command.ts';
import { listInputFiles, mediaTypeOf } from './input-files.ts';
import { createProgressDisplay, quietOption } from './progress.ts';

/**
 * `kanplan validate FILE|DIR...`: validates PCSP/BSP/ISP documents (schema and rules, then the
 * FHIR resources they map to), FHIR resources and Bundles (every entry) offline, with the same
 * validator the server runs on writes. Exit code 0 when no file has an error, 1 otherwise,
 * 2 on a usage error. `--format json` prints one OperationOutcome per file; `--strict` also fails
 * on warnings.
 */

interface FileResult {
  readonly file: string;
  readonly kind: 'document' | 'bundle' | 'resource' | 'unreadable';
  readonly issues: OperationOutcomeIssue[];
}

function validateFile(validator: ResourceValidator, file: string): FileResult {
  let value: unknown;
  try {
    value = parseDocumentText(readFileSync(file, 'utf8'), mediaTypeOf(file));
  } catch (err) {
    return { file, kind: 'unreadable', issues: [{ severity: 'error', code: 'exception', details: { text: (err as Error).message } }] };
  }
  const object = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  if (object && typeof object.documentType === 'string') {
    const check = checkDocument(value);
    if (!check.ok) {
      return { file, kind: 'document', issues: problemsToOutcome(check.problems).issue };
    }
    const { bundle } = mapDocumentToBundle(check.document);
    return { file, kind: 'document', issues: validateBundleEntries(validator, bundle) };
  }
  if (object && typeof object.resourceType === 'string') {
    const resource = object as unknown as Resource;
    if (resource.resourceType === 'Bundle') {
      return { file, kind: 'bundle', issues: validateBundleEntries(validator, resource) };
    }
    return { file, kind: 'resource', issues: validator.validate(resource) };
  }
  return {
    file,
    kind: 'unreadable',
    issues: [{ severity: 'error', code: 'invalid', details: { text: 'Neither a FHIR resource (resourceType) nor a plan document (documentType)' } }],
  };
}

function formatIssue(issue: OperationOutcomeIssue): string {
  const where = issue.expression?.join(', ') ?? '';
  const why = issue.diagnostics ? ` (${issue.diagnostics})` : '';
  return `  ${issue.severity.padEnd(7)} ${where ? `${where}: ` : ''}${issue.details?.text ?? ''}${why}`;
}

function formatResult(result: FileResult, failed: boolean, format: 'text' | 'json'): string {
  if (format === 'json') {
    const outcome: OperationOutcome = { resourceType: 'OperationOutcome', id: path.basename(result.file), issue: result.issues };
    return `${JSON.stringify(outcome)}\n`;
  }
  const heading = `${result.file}: ${failed ? 'INVALID' : 'valid'} (${result.kind}${result.issues.length ? `, ${result.issues.length} issue(s)` : ''})`;
  return [heading, ...result.issues.map(formatIssue)].map((line) => `${line}\n`).join('');
}

export const validateCommand = defineCommand({
  name: 'validate',
  summary: 'Validate plan documents, FHIR resources and Bundles offline against R4 and the Kansas profiles',
  description: 'Exit code 0 when no file has an error, 1 when one has (or a warning, with --strict).',
  operands: { placeholder: 'FILE|DIR', description: 'Plan documents, FHIR resources or Bundles, or directories of .json/.yaml/.yml files', required: true },
  options: {
    format: { type: 'string', placeholder: 'FORMAT', choices: ['text', 'json'], default: 'text', description: 'text: a line per file and issue; json: one OperationOutcome per line' },
    strict: { type: 'boolean', description: 'Fail on warnings too' },
    quiet: quietOption,
  },
  async run({ values, operands }, io) {
    const files = listInputFiles(operands);
    const validator = createResourceValidator(loadConformance());
    const progress = createProgressDisplay(io.stderr, { unit: 'files', quiet: values.quiet });
    let failed = 0;
    for (const [index, file] of files.entries()) {
      progress.update(index, files.length, path.basename(file));
      const result = validateFile(validator, file);
      const bad = hasErrors(result.issues) || (values.strict && result.issues.some((i) => i.severity === 'warning'));
      failed += bad ? 1 : 0;
      progress.print(io.stdout, formatResult(result, bad, values.format));
    }
    progress.update(files.length, files.length);
    progress.end();
    if (values.format === 'text') {
      io.stdout.write(`${files.length - failed} of ${files.length} file(s) valid\n`);
    }
    return failed > 0 ? 1 : 0;
  },
});
