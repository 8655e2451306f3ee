import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { documentArtifacts } from '../../src/documents/artifacts.ts';

describe('published document artifacts', () => {
  it.each(documentArtifacts().map((a) => [a.url.pathname.replace(/^.*\/(docs|bundles)\//, '$1/'), a] as const))(
    '%s is up to date (run scripts/build-document-artifacts.ts)',
    (_name, artifact) => {
      expect(readFileSync(artifact.url, 'utf8')).toBe(artifact.content);
    },
  );
});
