import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { SqlExecutor } from '../../store/database.ts';
import { claimOAuthRecordOnce, findOAuthRecord } from '../../store/oauth-records.ts';

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of the JWT access tokens. oidc-provider
 * refuses both for structured (JWT) tokens — it has no record of them — while SMART's resource
 * servers and test kit introspect access tokens; so kanplan answers for its JWTs itself, from the
 * verified token and a revocation record in the database, and leaves refresh tokens (opaque,
 * stored) to oidc-provider. See docs/architecture.md, "Authorization server".
 */
export interface AccessTokenKeys {
  readonly publicKey: CryptoKey;
  readonly issuer: string;
  readonly audience: string;
  /** The FHIR base, to answer fhirUser as the URL the id_token gives (SMART: fhirUser is a URL). */
  readonly fhirBaseUrl: string;
}

export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

/** The oauth_record kind marking a revoked access token, by its jti. */
export const REVOKED = 'RevokedAccessToken';

export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
}

async function verified(keys: AccessTokenKeys, token: string): Promise<JWTPayload | undefined> {
  try {
    return (await jwtVerify(token, keys.publicKey, { issuer: keys.issuer, audience: keys.audience })).payload;
  } catch (err) {
    if (err instanceof errors.JOSEError) return undefined;
    throw err;
  }
}

export async function introspectAccessToken(sql: SqlExecutor, keys: AccessTokenKeys, token: string): Promise<Introspection> {
  const payload = await verified(keys, token);
  if (!payload) return { active: false };
  if (payload.jti && (await findOAuthRecord(sql, REVOKED, payload.jti))) return { active: false };
  const fields = ['scope', 'client_id', 'sub', 'exp', 'iat', 'iss', 'aud', 'fhirUser', 'patient', 'encounter', 'jti'] as const;
  const answer: Record<string, unknown> = Object.fromEntries(fields.filter((name) => payload[name] !== undefined).map((name) => [name, payload[name]]));
  // The access token carries fhirUser relative (Type/id, what the FHIR API confines by); the
  // id_token carries it as a URL, and an introspection's fhirUser should equal the id_token's
  // (SMART App Launch 2.2, token introspection: https://hl7.org/fhir/smart-app-launch/STU2.2/token-introspection.html).
  if (typeof answer.fhirUser === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(answer.fhirUser)) {
    answer.fhirUser = `${keys.fhirBaseUrl.replace(/\/+$/, '')}/${answer.fhirUser}`;
  }
  return { active: true, token_type: 'Bearer', ...answer };
}

/**
 * Revokes one of kanplan's access tokens; false when the token is not one (or is expired, when
 * there is nothing left to revoke). Only the client it was issued to may revoke it.
 */
export async function revokeAccessToken(sql: SqlExecutor, keys: AccessTokenKeys, token: string, clientId: string | undefined): Promise<'revoked' | 'not-ours' | 'other-client'> {
  const payload = await verified(keys, token);
  if (!payload?.jti || !payload.exp) return 'not-ours';
  if (clientId !== undefined && payload.client_id !== clientId) return 'other-client';
  await claimOAuthRecordOnce(sql, REVOKED, payload.jti, new Date(payload.exp * 1000));
  return 'revoked';
}
