import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { invalidToken, missingToken } from '../outcomes.ts';
import type { AuthSettings } from '../config.ts';
import { parseScopes, type Permission, type ScopeGrant } from './scopes.ts';
import { loadOrCreateSigningKey } from './signing-key.ts';

/**
 * Who is calling and what their token allows: the token's claims as SMART App Launch defines them
 * (https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html). The embedded
 * authorization server (src/auth/server/) and an external one issue the same claims.
 */
export interface AccessContext {
  readonly subject: string;
  readonly scopes: readonly ScopeGrant[];
  /** The OAuth client the token was issued to (`client_id`, or `azp`). */
  readonly clientId?: string;
  /** The FHIR resource the user acts as (`fhirUser`), e.g. `PractitionerRole/…`, `RelatedPerson/…`, `Patient/…`. */
  readonly fhirUser?: string;
  /** Launch context bound to the token: the patient id that `patient/` scopes confine to. */
  readonly patient?: string;
  /** Launch context: the encounter id, when the launch bound one. */
  readonly encounter?: string;
}

/** Full access, for the server's own work (start-up loading, CLI) and AUTH_MODE=off. */
export const SYSTEM_ACCESS: AccessContext = {
  subject: 'kanplan',
  scopes: [{ context: 'system', resourceType: '*', permissions: new Set<Permission>(['c', 'r', 'u', 'd', 's']) }],
};

const MAX_REMEMBERED_TOKENS = 10_000;

export type TokenVerifier = (authorization: string | undefined) => Promise<AccessContext>;

/** The access tokens revoked before they expire (RFC 7009), by `jti`; the built-in authorization server keeps the list. */
export interface RevokedTokens {
  has(jti: string): boolean;
}

const NOTHING_REVOKED: RevokedTokens = { has: () => false };

/**
 * Verifies `Authorization: Bearer <JWT>` against the configured keys, issuer and audience
 * (SMART App Launch / Backend Services access tokens) and returns the granted scopes.
 */
export async function createTokenVerifier(settings: AuthSettings, revoked: RevokedTokens = NOTHING_REVOKED): Promise<TokenVerifier> {
  if (settings.mode === 'off') {
    return async () => SYSTEM_ACCESS;
  }
  const key = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl))
    : (await loadOrCreateSigningKey(settings.keyFile)).publicKey;
  // Clients reuse one token for many requests; verifying an ES256 signature on each costs more
  // than the read it guards, so verified tokens are remembered until they expire.
  const verified = new Map<string, { access: AccessContext; expiresAt: number; jti?: string }>();
  const notRevoked = (jti: string | undefined): void => {
    if (jti !== undefined && revoked.has(jti)) throw invalidToken('The access token was rejected: it has been revoked; ask for a new one.');
  };
  return async (authorization) => {
    const token = bearerToken(authorization);
    const known = verified.get(token);
    if (known && known.expiresAt > Date.now()) {
      notRevoked(known.jti);
      return known.access;
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], {
        issuer: settings.issuer,
        audience: settings.audience,
      }));
    } catch (err) {
      throw invalidToken(`The access token was rejected: ${rejectionReason(err, settings)}.`);
    }
    const jti = typeof payload.jti === 'string' ? payload.jti : undefined;
    notRevoked(jti);
    const access = accessOf(payload);
    if (verified.size >= MAX_REMEMBERED_TOKENS) verified.clear();
    verified.set(token, { access, expiresAt: payload.exp ? payload.exp * 1000 : Date.now() + 60_000, jti });
    return access;
  };
}

/**
 * The token of `Authorization: Bearer <token>` (RFC 6750 §2.1). No header, or another scheme, is
 * a request without a token: 401 with a bare challenge (§3.1 says to send no error code then).
 */
function bearerToken(authorization: string | undefined): string {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (token) return token;
  const scheme = authorization?.trim().split(/\s+/)[0];
  throw missingToken(
    scheme
      ? `The Authorization header uses ${JSON.stringify(scheme.slice(0, 20))}; this server needs Authorization: Bearer <access token> (RFC 6750).`
      : 'This request needs an access token: send Authorization: Bearer <token> (`npx kanplan token` issues one).',
  );
}

/** Why jose refused a token, in words a client developer can act on. */
function rejectionReason(err: unknown, settings: AuthSettings): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired; get a new one';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `it is not meant for this server (its aud must be ${settings.audience})`;
    if (err.claim === 'iss') return `it was not issued by ${settings.issuer}`;
    if (err.claim === 'nbf') return 'it is not valid yet (nbf)';
    return `claim ${err.claim} is not valid (${err.reason})`;
  }
  return 'its signature or format is not valid';
}

function claim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The access a verified token's claims describe. */
export function accessOf(payload: JWTPayload): AccessContext {
  const fhirUser = claim(payload, 'fhirUser');
  return {
    subject: String(payload.sub ?? 'unknown'),
    scopes: parseScopes(payload.scope as string | undefined),
    clientId: claim(payload, 'client_id') ?? claim(payload, 'azp'),
    // fhirUser may be absolute (SMART allows a URL); the server keeps the relative Type/id form.
    fhirUser: fhirUser?.replace(/^.*\/([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/, '$1'),
    patient: claim(payload, 'patient'),
    encounter: claim(payload, 'encounter'),
  };
}
