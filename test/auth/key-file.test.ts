import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import { loadAuthorizationKeys } from '../../src/auth/server/keys.ts';
import { loadOrCreateSigningKey } from '../../src/auth/signing-key.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
const dirs: string[] = [];
function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kanplan-keys-'));
  dirs.push(dir);
  return path.join(dir, 'auth');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('key files on a fresh install', () => {
  test('concurrent loadOrCreateSigningKey calls on a fresh directory all get the one key that was written', async () => {
    const file = path.join(freshDir(), 'signing-key.json');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(file)));
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { kid: string };
    expect(new Set(keys.map((k) => k.kid))).toEqual(new Set([written.kid]));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // No candidate is left behind beside the key.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['signing-key.json']);
  });

  test('four processes starting together on a fresh directory all read the same signing key', async () => {
    const file = path.join(freshDir(), 'signing-key.json');
    const script = `import { loadOrCreateSigningKey } from ${JSON.stringify(path.join(root, 'src/auth/signing-key.ts'))};
      const key = await loadOrCreateSigningKey(${JSON.stringify(file)});
      console.log(key.kid);`;
    const run = promisify(execFile);
    const outputs = await Promise.all(Array.from({ length: 4 }, () => run(node, ['--input-type=module', '-e', script], { cwd: root })));
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { kid: string };
    expect(outputs.map((o) => o.stdout.trim())).toEqual(Array(4).fill(written.kid));
  }, 60_000);

  test('concurrent starts of the authorization server agree on the access, id-token and cookie keys', async () => {
    const file = path.join(freshDir(), 'signing-key.json');
    const loaded = await Promise.all(Array.from({ length: 4 }, () => loadAuthorizationKeys(file)));
    const first = JSON.stringify(loaded[0]);
    for (const keys of loaded) expect(JSON.stringify(keys)).toBe(first);
    expect(loaded[0].jwks.keys.map((k) => k.kid)).toHaveLength(2);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['cookie-keys.json', 'id-token-key.json', 'signing-key.json']);
  }, 60_000);
});
