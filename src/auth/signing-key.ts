import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

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
 * authorization server instead.
 */
export async function loadOrCreateSigningKey(file: string): Promise<LocalSigningKey> {
  if (fs.existsSync(file)) {
    const jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK & { kid: string };
    const { d: _d, ...publicJwk } = jwk;
    return {
      privateKey: (await importJWK(jwk, ALG)) as CryptoKey,
      publicKey: (await importJWK(publicJwk, ALG)) as CryptoKey,
      kid: jwk.kid,
    };
  }
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `kanplan-${Date.now().toString(36)}`;
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: ALG };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return { privateKey, publicKey, kid };
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
