import { readFileSync, readdirSync } from 'node:fs';
import { checkDocument, parseDocumentText } from './check-document.ts';
import { importRankOf } from './import-order.ts';
import type { PlanDocument } from './plan-document.ts';

/** The fictional example documents in bundles/documents/, checked and in an order that imports. */

export interface ExampleDocument {
  /** Path relative to bundles/documents/. */
  readonly file: string;
  readonly document: PlanDocument;
}

const examplesDirectory = new URL('../../bundles/documents/', import.meta.url);

function readExamples(subdirectory: string): ExampleDocument[] {
  return readdirSync(new URL(subdirectory, examplesDirectory))
    .filter((file) => /\.(json|ya?ml)$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(new URL(`${subdirectory}${file}`, examplesDirectory), 'utf8');
      const check = checkDocument(parseDocumentText(text, file.endsWith('.json') ? 'application/json' : 'application/yaml'));
      if (!check.ok) {
        throw new Error(`Example ${subdirectory}${file} is invalid: ${check.problems.map((p) => p.message).join(' ')}`);
      }
      return { file: `${subdirectory}${file}`, document: check.document };
    });
}

/**
 * The valid example documents (fictional people) in an order that imports: every PCSP before
 * the BSPs and ISPs that refer to it, then the updates in `updates/`. `npm start` loads these on an
 * empty database.
 */
export function listExampleDocuments(): ExampleDocument[] {
  const originals = readExamples('').sort((a, b) => importRankOf(a.document.documentType) - importRankOf(b.document.documentType) || a.file.localeCompare(b.file));
  return [...originals, ...readExamples('updates/')];
}
