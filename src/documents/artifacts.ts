import { documentSchemas } from './schema-validation.ts';
import { listExampleDocuments } from './example-documents.ts';
import { mapDocumentToBundle } from './document-mapping.ts';

/** A generated file: where it goes and what it holds. */
export interface DocumentArtifact {
  readonly url: URL;
  readonly content: string;
}

const root = new URL('../../', import.meta.url);

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The published schemas (docs/documents/schemas/) and, per valid example, the transaction Bundle
 * of a first import (bundles/documents/transactions/): what a reviewer reads to see the mapping.
 */
export function documentArtifacts(): DocumentArtifact[] {
  const schemas = (['common', 'pcsp', 'bsp', 'isp'] as const).map((name) => ({
    url: new URL(`docs/documents/schemas/${name}.schema.json`, root),
    content: json(documentSchemas[name]),
  }));
  const bundles = listExampleDocuments().map(({ file, document }) => ({
    url: new URL(`bundles/documents/transactions/${file.replace(/^updates\//, '').replace(/\.(json|ya?ml)$/, '')}.transaction.json`, root),
    content: json(mapDocumentToBundle(document).bundle),
  }));
  return [...schemas, ...bundles];
}
