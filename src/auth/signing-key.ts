import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { readOrCreateKeyFile } from './key-file.ts';

const ALG = 'ES256';

export interface LocalSigningKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly kid: string;
}

/**
 * The server's own token-signing key pair, kept beside the data (never in the repository): made
 * on first start so a fresh install is protected at once, and used by `kanplan token` to mint
 * access tokens for scripts and development. Production deployments point AUTH_JWKS_URL at their
 * authorization server instead. Processes starting together on a fresh install all end up with
 * the one key that was written first (src/auth/key-file.ts).
 */
export async function loadOrCreateSigningKey(file: string): Promise<LocalSigningKey> {
  const text = await readOrCreateKeyFile(file, async () => {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    return JSON.stringify({ ...(await exportJWK(privateKey)), kid: `kanplan-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`, alg: ALG });
  });
  const jwk = JSON.parse(text) as JWK & { kid: string };
  const { d: _d, ...publicJwk } = jwk;
  return {
    privateKey: (await importJWK(jwk, ALG)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, ALG)) as CryptoKey,
    kid: jwk.kid,
  };
}

export interface TokenRequest {
  readonly scope: string;
  readonly subject: string;
  readonly issuer: string;
  readonly audience: string;
  /** Lifetime, e.g. "1h" or "30d". */
  readonly expiresIn: string;
  readonly fhirUser?: string;
  /** SMART launch context: the patient that `patient/` scopes confine to, and the encounter. */
  readonly patient?: string;
  readonly encounter?: string;
}

export async function issueAccessToken(key: LocalSigningKey, request: TokenRequest): Promise<string> {
  const context = {
    ...(request.fhirUser ? { fhirUser: request.fhirUser } : {}),
    ...(request.patient ? { patient: request.patient } : {}),
    ...(request.encounter ? { encounter: request.encounter } : {}),
  };
  return new SignJWT({ scope: request.scope, ...context })
    .setProtectedHeader({ alg: ALG, kid: key.kid })
    .setSubject(request.subject)
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setIssuedAt()
    .setExpirationTime(request.expiresIn)
    .sign(key.privateKey);
}
