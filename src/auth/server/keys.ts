import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { readOrCreateKeyFile } from '../key-file.ts';
import { loadOrCreateSigningKey } from '../signing-key.ts';

/**
 * The authorization server's key material, all beside the data (DATA_DIR/auth, mode 0600, never
 * in the repository) so that every server process sharing the files signs and checks alike:
 * - the ES256 access-token key the resource server verifies with (src/auth/signing-key.ts, also
 *   used by `kanplan token`);
 * - an RS256 key for id_tokens (OpenID Connect Core §15.1 makes RS256 the one every client
 *   supports; SMART's test kit requires it);
 * - the keys that sign the login-session cookies.
 * Each is made once, atomically, so processes starting together agree (src/auth/key-file.ts).
 */
export interface AuthorizationKeys {
  /** Private JWKs, access-token key first. */
  readonly jwks: { keys: JWK[] };
  readonly cookieKeys: string[];
}

async function loadOrCreateRsaKey(file: string): Promise<JWK> {
  const text = await readOrCreateKeyFile(file, async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    return JSON.stringify({ ...(await exportJWK(privateKey)), kid: `kanplan-id-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`, alg: 'RS256', use: 'sig' });
  });
  return JSON.parse(text) as JWK;
}

async function loadOrCreateCookieKeys(file: string): Promise<string[]> {
  return JSON.parse(await readOrCreateKeyFile(file, () => JSON.stringify([randomBytes(32).toString('base64url')]))) as string[];
}

/** Loads (or makes, on first start) the keys; `accessTokenKeyFile` is AUTH_KEY_FILE. */
export async function loadAuthorizationKeys(accessTokenKeyFile: string): Promise<AuthorizationKeys> {
  await loadOrCreateSigningKey(accessTokenKeyFile);
  const accessKey = { ...(JSON.parse(fs.readFileSync(accessTokenKeyFile, 'utf8')) as JWK), use: 'sig' };
  const dir = path.dirname(accessTokenKeyFile);
  const idTokenKey = await loadOrCreateRsaKey(path.join(dir, 'id-token-key.json'));
  return { jwks: { keys: [accessKey, idTokenKey] }, cookieKeys: await loadOrCreateCookieKeys(path.join(dir, 'cookie-keys.json')) };
}
