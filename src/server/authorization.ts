import express from 'express';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../auth/access.ts';
import type { RevokedAccessTokens } from '../auth/server/revoked-tokens.ts';
import { loadAuthorizationKeys } from '../auth/server/keys.ts';
import { createAuthorizationServer } from '../auth/server/provider.ts';
import { loadOrCreateSigningKey } from '../auth/signing-key.ts';
import type { Config } from '../config.ts';
import type { FhirContext } from '../fhir/context.ts';
import type { Database } from '../store/database.ts';
import { createAuthRouter } from './auth-routes.ts';
import { createPatientDirectory } from './patient-directory.ts';
import { RateLimiter } from './rate-limit.ts';

export interface EmbeddedAuthorizationOptions {
  readonly config: Config;
  /** The FHIR base as bound. */
  readonly url: string;
  readonly basePath: string;
  readonly db: Database;
  readonly ctx: FhirContext;
  readonly verifyToken: TokenVerifier;
  readonly revokedTokens: RevokedAccessTokens;
  readonly logger: Logger;
}

/**
 * Builds the embedded SMART authorization server (src/auth/server/) and returns how to mount it:
 * at …/auth beside the FHIR base, plus the issuer's OpenID discovery document when the issuer is
 * the FHIR base (OpenID Connect Discovery §4: {issuer}/.well-known/openid-configuration).
 */
export async function embeddedAuthorization(options: EmbeddedAuthorizationOptions): Promise<(app: express.Express) => void> {
  const { config, url, basePath, db, ctx } = options;
  const mountPath = `${basePath.replace(/\/[^/]*$/, '')}/auth`;
  const keys = await loadAuthorizationKeys(config.auth.keyFile);
  const provider = createAuthorizationServer({ sql: db, issuer: config.auth.issuer, audience: config.auth.audience, fhirBaseUrl: url, mountPath, keys, allowPrivateJwksUrls: config.auth.allowPrivateJwksUrls });
  // An https BASE_URL on a plain-http Node server means TLS ends at a proxy: trust its
  // X-Forwarded-Proto/Host so the endpoint URLs oidc-provider computes (discovery, the token
  // endpoint audience of client assertions) are the public ones.
  if (new URL(url).protocol === 'https:') provider.proxy = true;
  const accessKey = await loadOrCreateSigningKey(config.auth.keyFile);
  const router = createAuthRouter({
    provider,
    sql: db,
    db,
    directory: createPatientDirectory(ctx),
    mountPath,
    accessTokenKeys: { publicKey: accessKey.publicKey, issuer: config.auth.issuer, audience: config.auth.audience, fhirBaseUrl: url },
    verifyToken: options.verifyToken,
    revokedTokens: options.revokedTokens,
    fhirBaseUrl: url,
    rateLimits: { token: new RateLimiter(config.rateLimits.token), login: new RateLimiter(config.rateLimits.login) },
  });
  const callback = provider.callback() as unknown as express.RequestHandler;
  // Served only when the issuer is a URL of this server (by default the FHIR base).
  const issuer = URL.parse(config.auth.issuer);
  const issuerPath = issuer && issuer.origin === new URL(url).origin ? issuer.pathname.replace(/\/+$/, '') : undefined;
  return (app) => {
    if (issuerPath !== undefined && issuerPath !== mountPath) {
      app.get(`${issuerPath}/.well-known/openid-configuration`, (req, res, next) => {
        // Answered by the provider as if asked under its mount path, so its endpoints resolve there.
        req.url = '/.well-known/openid-configuration';
        req.originalUrl = `${mountPath}/.well-known/openid-configuration`;
        callback(req, res, next);
      });
    }
    app.use(mountPath, router);
  };
}
