import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProfiles } from '../../scripts/profiles-build.ts';

const generatedDir = join(import.meta.dirname, '..', '..', 'profiles', 'generated');

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [relative(generatedDir, full)];
  });
}

describe('npm run profiles:build', () => {
  it('reproduces the checked-in profiles/generated exactly (no drift; run `npm run profiles:build` and commit)', async () => {
    const { files } = await buildProfiles();
    expect(listFiles(generatedDir).sort()).toEqual([...files.keys()].sort());
    for (const [name, content] of files) {
      expect(readFileSync(join(generatedDir, name), 'utf8'), name).toBe(content);
    }
  }, 120_000);
});
