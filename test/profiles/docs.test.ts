import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDocs } from '../../scripts/profiles-docs.ts';
import { loadKansasPackage } from '../../src/conformance/kansas-package.ts';

const docsDir = join(import.meta.dirname, '..', '..', 'docs', 'ig');

describe('npm run profiles:docs', () => {
  const pages = buildDocs();

  it('reproduces the checked-in docs/ig exactly (no drift; run `npm run profiles:docs` and commit)', () => {
    expect(readdirSync(docsDir).sort()).toEqual([...pages.keys()].sort());
    for (const [name, content] of pages) {
      expect(readFileSync(join(docsDir, name), 'utf8'), name).toBe(content);
    }
  });

  it('documents the same profiles as the package (and so as the CapabilityStatement)', () => {
    const index = pages.get('index.md') ?? '';
    for (const sd of loadKansasPackage().structureDefinitions) {
      expect(pages.has(`${sd.id}.md`), sd.id).toBe(true);
      expect(index).toContain(`\`${sd.url}\``);
    }
  });

  it('shows an example of every extension and a valid and an invalid example of every profile', () => {
    for (const sd of loadKansasPackage().structureDefinitions) {
      const page = pages.get(`${sd.id}.md`) ?? '';
      if (sd.type === 'Extension') {
        // issue 5: each extension "with a definition and an example" (one on StructureDefinition from a profile).
        expect(page, sd.id).toMatch(/## Example\n\nFrom \[(bundles\/examples\/valid|profiles\/input)\//);
      } else {
        expect(page, sd.id).toContain(`- valid: [bundles/examples/valid/${sd.id}`);
        expect(page, sd.id).toContain(`- invalid: [bundles/examples/invalid/${sd.id}-`);
      }
    }
  });

  it('shows bindings and examples on a profile page', () => {
    const page = pages.get('ks-workflow-task.md') ?? '';
    expect(page).toContain('| `Task.code` | required | `https://kanplan.org/fhir/ValueSet/ks-task-type` |');
    expect(page).toContain('valid: [bundles/examples/valid/ks-workflow-task-ane-report.json]');
    expect(page).toContain('ks-task-1: An ANE report Task has priority stat');
  });
});
