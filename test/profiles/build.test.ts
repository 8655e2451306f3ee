import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProfiles } from '../../scripts/profiles-build.ts';

const generatedDir = join(import.meta.dirname, '..', '..', 'profiles', 'generated');
const packageDir = join(import.meta.dirname, '..', '..', 'profiles', 'package');

function listFiles(dir: string, base: string = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full, base) : [relative(base, full)];
  });
}

describe('npm run profiles:build', () => {
  // One build (~5 s) for both folders.
  let built: ReturnType<typeof buildProfiles> | undefined;
  const build = (): ReturnType<typeof buildProfiles> => (built ??= buildProfiles());

  it('reproduces the checked-in profiles/generated exactly (no drift; run `npm run profiles:build` and commit)', async () => {
    const { files } = await build();
    expect(listFiles(generatedDir).sort()).toEqual([...files.keys()].sort());
    for (const [name, content] of files) {
      expect(readFileSync(join(generatedDir, name), 'utf8'), name).toBe(content);
    }
  }, 120_000);

  it('reproduces the checked-in FHIR package folder profiles/package exactly, .index.json included', async () => {
    const { packageFiles } = await build();
    expect(listFiles(packageDir).sort()).toEqual([...packageFiles.keys()].sort());
    for (const [name, content] of packageFiles) {
      expect(readFileSync(join(packageDir, name), 'utf8'), name).toBe(content);
    }
  }, 120_000);
});
