import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { SqlExecutor } from '../../store/database.ts';
import { claimOAuthRecordOnce } from '../../store/oauth-records.ts';
import { createAdapterFactory } from './adapter.ts';
import { findGrantContext } from './grant-context.ts';
import type { AuthorizationKeys } from './keys.ts';
import { findLaunchContext } from './launches.ts';
import { CONTEXT_SCOPES, ScopeRefusal, checkRequestedScopes, isWithinAllowed } from './smart-scopes.ts';
import { findAccount } from './users.ts';

export interface AuthorizationServerSettings {
  readonly sql: SqlExecutor;
  /** `iss` of every token (AUTH_ISSUER; the FHIR base by default). */
  readonly issuer: string;
  /** `aud` of access tokens (AUTH_AUDIENCE; the FHIR base by default). */
  readonly audience: string;
  /** The FHIR base URL the `aud` authorization parameter must name. */
  readonly fhirBaseUrl: string;
  /** Path the provider is mounted at on this server, e.g. `/auth`. */
  readonly mountPath: string;
  readonly keys: AuthorizationKeys;
  /** Allow client JWKS URLs on loopback/private addresses (AUTH_ALLOW_PRIVATE_JWKS_URLS). */
  readonly allowPrivateJwksUrls?: boolean;
}

/** Access tokens of user launches: at most one hour (SMART App Launch 2.2 §"Response"). */
export const ACCESS_TOKEN_SECONDS = 3600;
/** Backend Services tokens: "SHOULD NOT exceed 300" seconds (Backend Services, "Response"). */
export const SYSTEM_TOKEN_SECONDS = 300;
/** How far ahead a client assertion's `exp` may be (Backend Services, "Authentication JWT"). */
const MAX_ASSERTION_SECONDS = 300;
export const GRANT_SECONDS = 14 * 24 * 3600;

const trimSlash = (url: string): string => url.replace(/\/+$/, '');
const words = (value: unknown): string[] => (typeof value === 'string' ? value.split(' ').filter(Boolean) : []);

function allowedScopesOf(client: { metadata(): Record<string, unknown> } | undefined): string[] {
  return words(client?.metadata().allowed_scope);
}

function refuse(err: unknown): never {
  if (err instanceof ScopeRefusal) throw new errors.InvalidScope(err.message, err.scope);
  throw err;
}

/**
 * The embedded SMART authorization server: oidc-provider (OpenID Certified) configured for SMART
 * App Launch 2.2 and Backend Services. Everything SMART-specific is a hook of the library:
 * - `aud` and `launch` are extra authorization parameters with validators (aud must be the FHIR
 *   base; launch must be a live launch id; requested scopes must be SMART-shaped and within the
 *   client's allowed scopes);
 * - SMART resource scopes are the scopes of one resource server, the FHIR base, whose access
 *   tokens are ES256 JWTs signed with the key the FHIR API verifies;
 * - the launch context (patient, encounter, fhirUser) is kept beside the grant and put into each
 *   access token by `extraTokenClaims` and into the token response by a post-middleware
 *   (`addLaunchContextToTokenResponse`, see server/auth-routes.ts);
 * - client assertions: RS384/ES384, `exp` at most five minutes ahead, `jti` recorded once in the
 *   database (atomic, so two server processes cannot both accept a replay).
 */
export function createAuthorizationServer(settings: AuthorizationServerSettings): Provider {
  const { sql, audience } = settings;
  const fhirBase = trimSlash(settings.fhirBaseUrl);

  const configuration: Configuration = {
    adapter: createAdapterFactory(sql),
    jwks: settings.keys.jwks as Configuration['jwks'],
    cookies: { keys: settings.keys.cookieKeys },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256'],
      idTokenSigningAlgValues: ['RS256', 'ES256'],
    },
    clientDefaults: { grant_types: ['authorization_code'], id_token_signed_response_alg: 'RS256', response_types: ['code'], token_endpoint_auth_method: 'none' },
    extraClientMetadata: { properties: ['allowed_scope', 'kanplan_client_type'] },
    scopes: [...CONTEXT_SCOPES],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    extraParams: {
      // SMART App Launch 2.2 "Obtain authorization code": aud is required and must be the FHIR base.
      async aud(ctx, value, client) {
        if (!value) throw new errors.InvalidRequest(`aud is required: send the FHIR base URL (${fhirBase}) as aud.`);
        if (trimSlash(String(value)) !== fhirBase) throw new errors.InvalidRequest(`aud ${value} is not this FHIR server; expected ${fhirBase}.`);
        try {
          checkRequestedScopes(words(ctx.oidc.params?.scope), allowedScopesOf(client), { systemOnly: false });
        } catch (err) {
          refuse(err);
        }
      },
      async launch(ctx, value, client) {
        const scopes = words(ctx.oidc.params?.scope);
        if (!value) {
          if (scopes.includes('launch')) throw new errors.InvalidRequest('scope launch needs the launch parameter the EHR gave the app.');
          return;
        }
        const launch = await findLaunchContext(sql, String(value));
        if (!launch) throw new errors.InvalidRequest('launch is unknown or has expired; launch the app from the EHR again.');
        if (launch.clientId && launch.clientId !== client?.clientId) throw new errors.InvalidRequest('launch was created for another app.');
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        async getResourceServerInfo(ctx, resource, client) {
          if (trimSlash(resource) !== trimSlash(audience) && trimSlash(resource) !== fhirBase) {
            throw new errors.InvalidTarget(`resource ${resource} is not this FHIR server (${fhirBase}).`);
          }
          const systemRequest = ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
          const allowed = allowedScopesOf(client);
          const requested = new Set([
            ...words(ctx.oidc.params?.scope),
            ...words(ctx.oidc.entities.AuthorizationCode?.scope),
            ...words(ctx.oidc.entities.RefreshToken?.scope),
          ]);
          let scope: string[];
          if (systemRequest) {
            try {
              scope = checkRequestedScopes([...requested], allowed, { systemOnly: true });
            } catch (err) {
              refuse(err);
            }
            if (scope.length === 0) throw new errors.InvalidScope('Backend Services must ask for at least one system/ scope, e.g. system/*.rs.', '');
          } else {
            scope = [...requested].filter((candidate) => isWithinAllowed(candidate, allowed));
          }
          return {
            scope: scope.join(' '),
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: systemRequest ? SYSTEM_TOKEN_SECONDS : ACCESS_TOKEN_SECONDS,
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    interactions: { url: async (_ctx, interaction) => `${settings.mountPath}/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const account = await findAccount(sql, sub);
      if (!account) return undefined;
      return {
        accountId: account.login,
        // SMART: the id_token's fhirUser is the URL of the user's FHIR resource.
        claims: async () => ({ sub: account.login, fhirUser: `${fhirBase}/${account.fhirUser}` }),
      };
    },
    // Every authorization makes its own grant: the patient chosen now must not leak into the
    // next launch of the same app in the same browser session.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId;
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
    async extraTokenClaims(_ctx, token) {
      const grantId = 'grantId' in token ? token.grantId : undefined;
      const context = grantId ? await findGrantContext(sql, grantId) : undefined;
      if (!context) return undefined;
      return {
        ...(context.fhirUser ? { fhirUser: context.fhirUser } : {}),
        ...(context.patient ? { patient: context.patient } : {}),
        ...(context.encounter ? { encounter: context.encounter } : {}),
      };
    },
    async assertJwtClientAuthClaimsAndHeader(_ctx, claims, _header, client) {
      const now = Math.floor(Date.now() / 1000);
      if (typeof claims.exp !== 'number') throw new errors.InvalidClientAuth('the client assertion needs an exp claim.');
      if (claims.exp - now > MAX_ASSERTION_SECONDS) {
        throw new errors.InvalidClientAuth(`the client assertion's exp is more than ${MAX_ASSERTION_SECONDS} seconds ahead.`);
      }
      if (typeof claims.jti !== 'string' || claims.jti === '') throw new errors.InvalidClientAuth('the client assertion needs a jti claim.');
      const fresh = await claimOAuthRecordOnce(sql, 'ClientAssertionJti', `${client.clientId} ${claims.jti}`, new Date((claims.exp + 60) * 1000));
      if (!fresh) throw new errors.InvalidClientAuth('this client assertion (jti) was used before; sign a new one for each request.');
    },
    // oidc-provider's fetch refuses private and loopback addresses (SSRF protection); a site whose
    // EHR publishes its keys inside the network opts out explicitly.
    ...(settings.allowPrivateJwksUrls ? { fetch: (url: string | URL | Request, options?: RequestInit) => globalThis.fetch(url, { ...options, dispatcher: undefined } as RequestInit) } : {}),
    clientBasedCORS: (_ctx, origin, client) => origin !== 'null' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    ttl: {
      AccessToken: ACCESS_TOKEN_SECONDS,
      ClientCredentials: SYSTEM_TOKEN_SECONDS,
      AuthorizationCode: 60,
      IdToken: ACCESS_TOKEN_SECONDS,
      Interaction: 3600,
      Session: GRANT_SECONDS,
      Grant: GRANT_SECONDS,
      RefreshToken: GRANT_SECONDS,
    },
    routes: {
      authorization: '/authorize',
      token: '/token',
      jwks: '/jwks',
      introspection: '/introspect',
      revocation: '/revoke',
      end_session: '/logout',
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      const { errorPage } = await import('./pages.ts');
      ctx.body = errorPage(String(out.error), String(out.error_description ?? ''));
    },
  };
  const provider = new Provider(settings.issuer, configuration);
  provider.use(addLaunchContextToTokenResponse(sql));
  return provider;
}

/**
 * SMART's launch context parameters in the token response (`patient`, `encounter`,
 * `need_patient_banner`, `smart_style_url`), from the context kept beside the grant.
 */
function addLaunchContextToTokenResponse(sql: SqlExecutor) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    // SMART App Launch 2.2: token responses carry Cache-Control: no-store and Pragma: no-cache.
    ctx.set('Pragma', 'no-cache');
    if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as Record<string, unknown>;
    const grantId = ctx.oidc.entities.Grant?.jti;
    const context = grantId ? await findGrantContext(sql, grantId) : undefined;
    if (!context || typeof body.access_token !== 'string') return;
    // oidc-provider leaves offline_access/online_access out of the access token's scope; the
    // response's scope says what was granted, refresh permission included.
    const granted = words(ctx.oidc.params?.scope ?? ctx.oidc.entities.RefreshToken?.scope ?? ctx.oidc.entities.AuthorizationCode?.scope);
    const scope = words(body.scope);
    const refreshScopes = body.refresh_token ? granted.filter((name) => (name === 'offline_access' || name === 'online_access') && !scope.includes(name)) : [];
    ctx.body = {
      ...body,
      scope: [...scope, ...refreshScopes].join(' '),
      ...(context.patient ? { patient: context.patient } : {}),
      ...(context.encounter ? { encounter: context.encounter } : {}),
      need_patient_banner: context.needPatientBanner,
      smart_style_url: `${ctx.oidc.urlFor('token').replace(/\/token$/, '')}/smart-style.json`,
    };
  };
}
