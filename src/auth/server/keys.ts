import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { loadOrCreateSigningKey } from '../signing-key.ts';

/**
 * The authorization server's key material, all beside the data (DATA_DIR/auth, mode 0600, never
 * in the repository) so that every server process sharing the files signs and checks alike:
 * - the ES256 access-token key the resource server verifies with (src/auth/signing-key.ts, also
 *   used by `kanplan token`);
 * - an RS256 key for id_tokens (OpenID Connect Core §15.1 makes RS256 the one every client
 *   supports; SMART's test kit requires it);
 * - the keys that sign the login-session cookies.
 */
export interface AuthorizationKeys {
  /** Private JWKs, access-token key first. */
  readonly jwks: { keys: JWK[] };
  readonly cookieKeys: string[];
}

function writePrivate(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
}

async function loadOrCreateRsaKey(file: string): Promise<JWK> {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as JWK;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: `kanplan-id-${Date.now().toString(36)}`, alg: 'RS256', use: 'sig' };
  writePrivate(file, JSON.stringify(jwk));
  return jwk;
}

function loadOrCreateCookieKeys(file: string): string[] {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
  const keys = [randomBytes(32).toString('base64url')];
  writePrivate(file, JSON.stringify(keys));
  return keys;
}

/** Loads (or makes, on first start) the keys; `accessTokenKeyFile` is AUTH_KEY_FILE. */
export async function loadAuthorizationKeys(accessTokenKeyFile: string): Promise<AuthorizationKeys> {
  await loadOrCreateSigningKey(accessTokenKeyFile);
  const accessKey = { ...(JSON.parse(fs.readFileSync(accessTokenKeyFile, 'utf8')) as JWK), use: 'sig' };
  const dir = path.dirname(accessTokenKeyFile);
  const idTokenKey = await loadOrCreateRsaKey(path.join(dir, 'id-token-key.json'));
  return { jwks: { keys: [accessKey, idTokenKey] }, cookieKeys: loadOrCreateCookieKeys(path.join(dir, 'cookie-keys.json')) };
}
