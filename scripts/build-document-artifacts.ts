import { mkdirSync, writeFileSync } from 'node:fs';
import { documentArtifacts } from '../src/documents/artifacts.ts';

/**
 * Writes the published copies of the document schemas (docs/documents/schemas/) and the
 * transaction Bundle each example document maps to (bundles/documents/transactions/).
 * test/documents/artifacts.test.ts fails when they drift; run
 * `node_modules/.bin/node scripts/build-document-artifacts.ts` after changing a schema, an example
 * or a mapper.
 */
for (const artifact of documentArtifacts()) {
  mkdirSync(new URL('.', artifact.url), { recursive: true });
  writeFileSync(artifact.url, artifact.content);
  process.stdout.write(`wrote ${artifact.url.pathname}\n`);
}
