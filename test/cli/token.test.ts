import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, test } from 'vitest';
import { createTokenVerifier } from '../../src/auth/access.ts';
import { runKanplan } from './command-io.ts';

const base = 'http://localhost:8080/fhir';

function claimsOf(token: string): Record<string, unknown> {
  const [, payload] = token.trim().split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('kanplan token', () => {
  test('issues a JWT that the server accepts', async () => {
    const dataDir = mkdtempSync(`${tmpdir()}/kanplan-cli-`);
    const result = runKanplan(['token', '--scope', 'user/CarePlan.rs'], { DATA_DIR: dataDir, BASE_URL: base });
    expect(result.status).toBe(0);
    const claims = claimsOf(result.stdout);
    expect(claims.scope).toBe('user/CarePlan.rs');
    expect(claims.aud).toBe(base);
    const verify = await createTokenVerifier({ mode: 'jwt', keyFile: `${dataDir}/auth/signing-key.json`, issuer: base, audience: base });
    const access = await verify(`Bearer ${result.stdout.trim()}`);
    expect(access.scopes[0].resourceType).toBe('CarePlan');
  });

  test('without options is full system access for the CLI, for one hour', () => {
    const result = runKanplan(['token'], { DATA_DIR: mkdtempSync(`${tmpdir()}/kanplan-cli-`), BASE_URL: base });
    expect(result.status).toBe(0);
    const claims = claimsOf(result.stdout);
    expect(claims).toMatchObject({ scope: 'system/*.cruds', sub: 'kanplan-cli' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });

  test('refuses with exit code 2 when tokens come from another authorization server', () => {
    const result = runKanplan(['token'], { DATA_DIR: mkdtempSync(`${tmpdir()}/kanplan-cli-`), BASE_URL: base, AUTH_JWKS_URL: 'https://idp.example.org/jwks' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('AUTH_JWKS_URL is set');
    expect(result.stdout).toBe('');
  });
});
