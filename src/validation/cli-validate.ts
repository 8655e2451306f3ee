import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Command } from '../cli.ts';
import { checkDocument, parseDocumentText, problemsToOutcome } from '../documents/check-document.ts';
import { mapDocumentToBundle } from '../documents/plan-documents.ts';
import { createResourceValidator, hasErrors, type ResourceValidator } from './validator.ts';

/**
 * `kanplan validate FILE|DIR...`: validates PCSP/BSP/ISP documents (schema and rules, then the
 * FHIR resources they map to), FHIR resources and Bundles (every entry) offline, with the same
 * validator the server runs on writes. Exit code 0 when no file has an error, 1 otherwise,
 * 2 on a usage error. `--format json` prints one OperationOutcome per file; `--strict` also fails
 * on warnings.
 */

export interface FileResult {
  readonly file: string;
  readonly kind: 'document' | 'bundle' | 'resource' | 'unreadable';
  readonly issues: OperationOutcomeIssue[];
}

function files(paths: readonly string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p, { throwIfNoEntry: false })?.isDirectory()
      ? readdirSync(p)
          .filter((f) => /\.(json|ya?ml)$/.test(f))
          .sort()
          .map((f) => path.join(p, f))
      : [p],
  );
}

function prefixed(issues: readonly OperationOutcomeIssue[], prefix: string, root: string): OperationOutcomeIssue[] {
  return issues.map((issue) => ({
    ...issue,
    expression: issue.expression?.map((e) => (e.startsWith(root) ? `${prefix}${e.slice(root.length)}` : `${prefix}.${e}`)),
  }));
}

function validateBundle(validator: ResourceValidator, bundle: Bundle, prefix = 'Bundle'): OperationOutcomeIssue[] {
  const entries = bundle.entry ?? [];
  // The Bundle's own elements (type, identifier ...), then each entry's resource on its own, as the
  // server validates transaction entries. (An entry stripped of its resource would break bdl-5.)
  const { entry: _entries, ...shell } = bundle;
  const issues = prefixed(validator.validate(shell as Bundle), prefix, 'Bundle');
  entries.forEach((entry, i) => {
    if (entry.resource) {
      issues.push(...prefixed(validator.validate(entry.resource), `${prefix}.entry[${i}].resource`, entry.resource.resourceType));
    }
  });
  return issues;
}

export function validateFile(validator: ResourceValidator, file: string): FileResult {
  let value: unknown;
  try {
    value = parseDocumentText(readFileSync(file, 'utf8'), /\.ya?ml$/i.test(file) ? 'application/yaml' : 'application/json');
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
    return { file, kind: 'document', issues: validateBundle(validator, bundle) };
  }
  if (object && typeof object.resourceType === 'string') {
    const resource = object as unknown as Resource;
    if (resource.resourceType === 'Bundle') {
      return { file, kind: 'bundle', issues: validateBundle(validator, resource) };
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

export interface ValidateCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIo: ValidateCommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export async function runValidateCommand(args: string[], io: ValidateCommandIo = defaultIo): Promise<number> {
  const formatIndex = args.indexOf('--format');
  const format = formatIndex >= 0 ? args[formatIndex + 1] : 'text';
  const strict = args.includes('--strict');
  const paths = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--format');
  if (paths.length === 0 || (format !== 'text' && format !== 'json')) {
    io.stderr(`Usage: ${validateCommand.usage}\n`);
    return 2;
  }
  const missing = paths.filter((p) => !statSync(p, { throwIfNoEntry: false }));
  if (missing.length > 0) {
    io.stderr(`No such file or directory: ${missing.join(', ')}\n`);
    return 2;
  }
  const validator = createResourceValidator();
  let failed = 0;
  const results = files(paths).map((file) => validateFile(validator, file));
  for (const result of results) {
    const bad = hasErrors(result.issues) || (strict && result.issues.some((i) => i.severity === 'warning'));
    failed += bad ? 1 : 0;
    if (format === 'json') {
      const outcome: OperationOutcome = { resourceType: 'OperationOutcome', id: path.basename(result.file), issue: result.issues };
      io.stdout(`${JSON.stringify(outcome)}\n`);
    } else {
      io.stdout(`${result.file}: ${bad ? 'INVALID' : 'valid'} (${result.kind}${result.issues.length ? `, ${result.issues.length} issue(s)` : ''})\n`);
      for (const issue of result.issues) {
        io.stdout(`${formatIssue(issue)}\n`);
      }
    }
  }
  if (format === 'text') {
    io.stdout(`${results.length - failed} of ${results.length} file(s) valid\n`);
  }
  return failed > 0 ? 1 : 0;
}

export const validateCommand: Command = {
  summary: 'Validate plan documents, FHIR resources and Bundles offline against R4 and the Kansas profiles',
  usage: 'kanplan validate FILE|DIR... [--format text|json] [--strict]',
  run: (args) => runValidateCommand(args),
};
