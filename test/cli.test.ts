import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';

function kanplan(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('kanplan CLI', () => {
  test('--help lists the sub-commands and exits 0', () => {
    const result = kanplan('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: kanplan <command>');
    expect(result.stdout).toMatch(/^\s+serve\s+Serve the FHIR API/m);
  });

  test('token issues a JWT that the server accepts', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dataDir = mkdtempSync(`${tmpdir()}/kanplan-cli-`);
    const result = spawnSync(process.execPath, ['src/cli.ts', 'token', '--scope', 'user/CarePlan.rs'], {
      encoding: 'utf8',
      env: { ...process.env, DATA_DIR: dataDir, BASE_URL: 'http://localhost:8080/fhir' },
    });
    expect(result.status).toBe(0);
    const [, payload] = result.stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    expect(claims.scope).toBe('user/CarePlan.rs');
    expect(claims.aud).toBe('http://localhost:8080/fhir');
    const { createTokenVerifier } = await import('../src/auth/access.ts');
    const verify = await createTokenVerifier({ mode: 'jwt', keyFile: `${dataDir}/auth/signing-key.json`, issuer: 'http://localhost:8080/fhir', audience: 'http://localhost:8080/fhir' });
    const access = await verify(`Bearer ${result.stdout.trim()}`);
    expect(access.scopes[0].resourceType).toBe('CarePlan');
  });

  test('an unknown command exits 2 and says so', () => {
    const result = kanplan('frobnicate');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Unknown command "frobnicate"');
  });

  test('serve with a bad setting exits 2 with a message naming it', () => {
    const result = spawnSync(process.execPath, ['src/cli.ts', 'serve'], { encoding: 'utf8', env: { ...process.env, PORT: 'abc' } });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Configuration error: PORT=abc is not valid');
  });
});
