import type { OperationOutcome } from '@medplum/fhirtypes';
import { parse as parseYaml } from 'yaml';
import { checkDocumentRules, defaultDocumentRuleOptions, type DocumentRuleOptions } from './document-rules.ts';
import { documentTypeOf, problemToIssue, validateAgainstSchema, type DocumentProblem } from './schema-validation.ts';
import type { PlanDocument } from './plan-document.ts';

export type DocumentCheck =
  | { readonly ok: true; readonly document: PlanDocument }
  | { readonly ok: false; readonly problems: readonly DocumentProblem[] };

/**
 * Schema first, then the cross-field rules; the rules only run on schema-valid documents so that
 * they can rely on the shape.
 */
export function checkDocument(value: unknown, options: DocumentRuleOptions = defaultDocumentRuleOptions): DocumentCheck {
  const documentType = documentTypeOf(value);
  if (typeof documentType !== 'string') {
    return { ok: false, problems: [documentType] };
  }
  const schemaProblems = validateAgainstSchema(documentType, value);
  if (schemaProblems.length > 0) {
    return { ok: false, problems: schemaProblems };
  }
  const document = value as PlanDocument;
  const ruleProblems = checkDocumentRules(document, options);
  return ruleProblems.length > 0 ? { ok: false, problems: ruleProblems } : { ok: true, document };
}

/** A 400 body: one issue per problem, each located by its JSON pointer. */
export function problemsToOutcome(problems: readonly DocumentProblem[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: problems.map(problemToIssue) };
}

export class DocumentSyntaxError extends Error {}

/**
 * Parses a document body. YAML is a superset of JSON, but JSON bodies go through JSON.parse so
 * that JSON syntax errors name the JSON position.
 */
export function parseDocumentText(text: string, mediaType = 'application/json'): unknown {
  const isYaml = /yaml/i.test(mediaType);
  try {
    return isYaml ? parseYaml(text, { schema: 'core', prettyErrors: true }) : JSON.parse(text);
  } catch (err) {
    throw new DocumentSyntaxError(`The body is not valid ${isYaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}
