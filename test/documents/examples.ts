import { readFileSync, readdirSync } from 'node:fs';
import { parseDocumentText } from '../../src/documents/check-document.ts';
import type { PlanDocument } from '../../src/documents/plan-document.ts';

export const examplesDirectory = new URL('../../bundles/documents/', import.meta.url);

export function readExample(relativePath: string): PlanDocument {
  const text = readFileSync(new URL(relativePath, examplesDirectory), 'utf8');
  return parseDocumentText(text, relativePath.endsWith('.json') ? 'application/json' : 'application/yaml') as PlanDocument;
}

export function exampleFiles(subdirectory = ''): string[] {
  return readdirSync(new URL(subdirectory, examplesDirectory))
    .filter((f) => /\.(json|ya?ml)$/.test(f))
    .sort()
    .map((f) => `${subdirectory}${f}`);
}
