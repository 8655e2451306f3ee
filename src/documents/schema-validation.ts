import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { DocumentType } from './plan-document.ts';

/**
 * JSON Schema 2020-12 validation of PCSP, BSP and ISP documents with ajv. Every error becomes one
 * OperationOutcome issue whose `location` is the RFC 6901 JSON pointer into the document and
 * whose `diagnostics` says in plain words which field is wrong and what was expected.
 */

const schemaDirectory = new URL('./schemas/', import.meta.url);

function loadSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(name, schemaDirectory), 'utf8')) as Record<string, unknown>;
}

/** The published schemas, keyed by document type (also served under docs/documents/). */
export const documentSchemas: Readonly<Record<DocumentType | 'common', Record<string, unknown>>> = {
  common: loadSchema('common.schema.json'),
  pcsp: loadSchema('pcsp.schema.json'),
  bsp: loadSchema('bsp.schema.json'),
  isp: loadSchema('isp.schema.json'),
};

// ajv-formats is CommonJS; under ESM its default export is the plugin function itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function compileValidators(): Record<DocumentType, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
  addFormats(ajv);
  ajv.addSchema(documentSchemas.common);
  return {
    pcsp: ajv.compile(documentSchemas.pcsp),
    bsp: ajv.compile(documentSchemas.bsp),
    isp: ajv.compile(documentSchemas.isp),
  };
}

const validators = compileValidators();

export const documentTypes: readonly DocumentType[] = ['pcsp', 'bsp', 'isp'];

export function isDocumentType(value: unknown): value is DocumentType {
  return typeof value === 'string' && (documentTypes as readonly string[]).includes(value);
}

/** One problem found in a document; `pointer` is a JSON pointer ("" is the whole document). */
export interface DocumentProblem {
  readonly pointer: string;
  readonly message: string;
  /** OperationOutcome issue type (https://hl7.org/fhir/R4/valueset-issue-type.html). */
  readonly code: 'required' | 'value' | 'structure' | 'invalid' | 'business-rule' | 'invariant' | 'not-found';
  /** The rule family, e.g. "required", "format", "review-interval": what an invalid example tests. */
  readonly rule: string;
}

function readable(pointer: string): string {
  return pointer === '' ? 'the document' : pointer;
}

function childPointer(parent: string, key: string): string {
  return `${parent}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function formatHint(format: string): string {
  return format === 'date' ? 'a date written YYYY-MM-DD, e.g. 2026-01-31' : `a value in ${format} format`;
}

/** Plain-language message for one ajv error (one per keyword family). */
function problemOf(error: ErrorObject): DocumentProblem {
  const at = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const field = String(params.missingProperty);
      return { pointer: childPointer(at, field), code: 'required', rule: 'required', message: `${readable(childPointer(at, field))} is required but missing.` };
    }
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      return {
        pointer: childPointer(at, field),
        code: 'structure',
        rule: 'additionalProperties',
        message: `${readable(childPointer(at, field))} is not a field of this document type; remove it or check its spelling.`,
      };
    }
    case 'type':
      return { pointer: at, code: 'value', rule: 'type', message: `${readable(at)} must be ${article(String(params.type))} ${params.type}.` };
    case 'format':
      return { pointer: at, code: 'value', rule: 'format', message: `${readable(at)} must be ${formatHint(String(params.format))}.` };
    case 'enum':
      return {
        pointer: at,
        code: 'value',
        rule: 'enum',
        message: `${readable(at)} must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}.`,
      };
    case 'const':
      return { pointer: at, code: 'value', rule: 'const', message: `${readable(at)} must be ${JSON.stringify(params.allowedValue)}.` };
    case 'pattern':
      return { pointer: at, code: 'value', rule: 'pattern', message: `${readable(at)} has an invalid form${patternHint(error)}.` };
    case 'minItems':
      return { pointer: at, code: 'required', rule: 'minItems', message: `${readable(at)} must list at least ${params.limit} item(s).` };
    case 'minLength':
      return { pointer: at, code: 'required', rule: 'minLength', message: `${readable(at)} must not be empty.` };
    case 'maxLength':
      return { pointer: at, code: 'value', rule: 'maxLength', message: `${readable(at)} is longer than ${params.limit} characters.` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { pointer: at, code: 'value', rule: 'range', message: `${readable(at)} must be ${comparisonWords[String(params.comparison)] ?? String(params.comparison)} ${String(params.limit)}.` };
    case 'uniqueItems':
      return { pointer: at, code: 'value', rule: 'uniqueItems', message: `${readable(at)} lists the same value twice (items ${params.j} and ${params.i}).` };
    default:
      return { pointer: at, code: 'invalid', rule: error.keyword, message: `${readable(at)} ${error.message ?? 'is invalid'}.` };
  }
}

const comparisonWords: Record<string, string> = { '<=': 'at most', '>=': 'at least', '<': 'less than', '>': 'more than' };

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function patternHint(error: ErrorObject): string {
  const description = (error.parentSchema as { description?: string } | undefined)?.description;
  return description ? ` (${description})` : ` (expected to match ${String((error.params as { pattern: string }).pattern)})`;
}

/**
 * Validates `value` against the schema of `documentType`. `\S` patterns on free text also raise a
 * pattern error for whitespace-only text; it is reported as "must not be empty" instead.
 */
export function validateAgainstSchema(documentType: DocumentType, value: unknown): DocumentProblem[] {
  const validate = validators[documentType];
  if (validate(value)) {
    return [];
  }
  return (validate.errors ?? []).map((error) =>
    error.keyword === 'pattern' && (error.params as { pattern: string }).pattern === '\\S'
      ? { pointer: error.instancePath, code: 'required' as const, rule: 'minLength', message: `${readable(error.instancePath)} must not be empty.` }
      : problemOf(error),
  );
}

/** The document type a body claims, or a problem saying why it can't be told. */
export function documentTypeOf(value: unknown): DocumentType | DocumentProblem {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { pointer: '', code: 'structure', rule: 'type', message: 'The document must be a JSON or YAML object.' };
  }
  const declared = (value as { documentType?: unknown }).documentType;
  if (isDocumentType(declared)) {
    return declared;
  }
  return {
    pointer: '/documentType',
    code: declared === undefined ? 'required' : 'value',
    rule: declared === undefined ? 'required' : 'enum',
    message: '/documentType must be one of: "pcsp", "bsp", "isp".',
  };
}

export function problemToIssue(problem: DocumentProblem): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: problem.code,
    details: { text: problem.message },
    diagnostics: problem.message,
    location: [problem.pointer],
  };
}
