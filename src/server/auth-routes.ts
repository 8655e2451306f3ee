import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { errors, type default as Provider } from 'oidc-provider';
import type { AccessContext, TokenVerifier } from '../auth/access.ts';
import { introspectAccessToken, looksLikeJwt, revokeAccessToken, type AccessTokenKeys } from '../auth/server/introspection.ts';
import { errorPage } from '../auth/server/pages.ts';
import { showInteraction, submitConsent, submitLogin, tooManySignInAttempts, type InteractionServices, type Step } from '../auth/server/interactions.ts';
import { createLaunch, LaunchError } from '../auth/server/launches.ts';
import type { Database } from '../store/database.ts';
import { FhirError } from '../outcomes.ts';
import type { RevokedAccessTokens } from '../auth/server/revoked-tokens.ts';
import { HTML_CONTENT_SECURITY_POLICY } from './response-headers.ts';
import type { RateLimiter } from './rate-limit.ts';

export interface AuthRoutesServices extends InteractionServices {
  readonly db: Database;
  readonly accessTokenKeys: AccessTokenKeys;
  readonly verifyToken: TokenVerifier;
  /** The FHIR API's list of revoked access tokens, refreshed when this process revokes one. */
  readonly revokedTokens: RevokedAccessTokens;
  /** Public URL of the FHIR base, for the example launch URL. */
  readonly fhirBaseUrl: string;
  /** Token requests per client and address; sign-in attempts per address and login name. */
  readonly rateLimits: { readonly token: RateLimiter; readonly login: RateLimiter };
}

/**
 * Every page and answer of the sign-in flow is per user and per moment: never cached. The pages
 * load nothing and may not be framed (a framed consent page could be clicked through).
 */
function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Content-Security-Policy', HTML_CONTENT_SECURITY_POLICY);
  res.setHeader('X-Frame-Options', 'DENY');
  next();
}

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).setHeader('Cache-Control', 'no-store').json({ error, error_description: description });
}

/** Whether the token speaks for a user or a system (not for one patient): who may create EHR launches. */
function mayCreateLaunches(access: AccessContext): boolean {
  return access.scopes.some((grant) => grant.context === 'user' || grant.context === 'system');
}

function formOf(req: Request): Record<string, string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

async function mayIntrospect(services: AuthRoutesServices, req: Request): Promise<boolean> {
  const authorization = req.headers.authorization ?? '';
  if (/^Bearer\s/i.test(authorization)) {
    try {
      await services.verifyToken(authorization);
      return true;
    } catch {
      return false;
    }
  }
  const basic = /^Basic\s+(\S+)$/i.exec(authorization);
  if (!basic) return false;
  const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':').map((part) => decodeURIComponent(part ?? ''));
  const client = await services.provider.Client.find(id ?? '');
  const expected = Buffer.from(client?.clientSecret ?? '');
  const given = Buffer.from(secret ?? '');
  return expected.length > 0 && expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Who asks for a token, for rate limiting only (nothing is trusted from it): the client id of
 * HTTP Basic, of the form, or the issuer of a client assertion (Backend Services, RFC 7523 §3).
 */
function tokenClientOf(req: Request): string {
  const form = formOf(req);
  const assertionIssuer = (): string | undefined => {
    try {
      const payload = JSON.parse(Buffer.from((form.client_assertion ?? '').split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
      return typeof payload.iss === 'string' ? payload.iss : undefined;
    } catch {
      return undefined;
    }
  };
  return (basicClientId(req) ?? form.client_id ?? assertionIssuer() ?? '-').slice(0, 200);
}

function basicClientId(req: Request): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return undefined;
  return decodeURIComponent(Buffer.from(match[1], 'base64').toString('utf8').split(':')[0] ?? '');
}

/**
 * The embedded authorization server on HTTP, mounted at …/auth: the sign-in pages, the EHR
 * launch API, introspection and revocation of JWT access tokens (see introspection.ts), and
 * oidc-provider for everything else (authorize, token, jwks, discovery, refresh-token
 * introspection and revocation).
 */
export function createAuthRouter(services: AuthRoutesServices): express.Router {
  const { provider } = services;
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  const run = (handler: (req: Request) => Promise<Step>) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      const step = await handler(req);
      if ('page' in step) {
        res.status(step.status).type('html').send(step.page);
        return;
      }
      await provider.interactionFinished(req, res, step.result, { mergeWithLastSubmission: false });
    } catch (err) {
      // A sign-in page opened after its interaction finished or expired (or with a made-up id) is
      // a person at a browser: answer with a page that says what to do, not a FHIR error.
      if (err instanceof errors.SessionNotFound) {
        res.status(400).type('html').send(errorPage('This sign-in is no longer open', 'it finished, expired or never existed.'));
        return;
      }
      next(err);
    }
  };
  router.get('/authorize', askConsentForOfflineAccess);
  // SMART "authorize-post": a POSTed authorization request is answered with a 303 to the same
  // request as GET. oidc-provider accepts POST only with SameSite=None cookies, which browsers
  // drop over plain http (local installs); the GET that follows is a top-level navigation, which
  // carries the Lax session cookie.
  router.post('/authorize', form, (req, res) => {
    res.redirect(303, `${req.baseUrl}/authorize?${new URLSearchParams(formOf(req)).toString()}`);
  });
  router.use('/interaction', noStore);
  router.get('/interaction/:uid', run(async (req) => showInteraction(services, await provider.interactionDetails(req, responseOf(req)), typeof req.query.name === 'string' ? req.query.name : undefined)));
  router.post(
    '/interaction/:uid/login',
    form,
    run(async (req) => {
      const interaction = await provider.interactionDetails(req, responseOf(req));
      const attempt = formOf(req);
      // Counted before the password is checked: guessing is slowed, and so is the hashing it costs.
      const decision = services.rateLimits.login.take(`${req.ip}|${(attempt.login ?? '').toLowerCase().slice(0, 200)}`);
      if (!decision.allowed) {
        responseOf(req).setHeader('Retry-After', String(decision.retryAfterSeconds));
        return tooManySignInAttempts(services, interaction, attempt, decision.retryAfterSeconds);
      }
      return submitLogin(services, interaction, attempt);
    }),
  );
  router.post('/interaction/:uid/consent', form, run(async (req) => submitConsent(services, await provider.interactionDetails(req, responseOf(req)), formOf(req))));

  // EHR launch by API (the EHR's own launch step): a user or system token creates a launch id.
  router.post('/launch', express.json({ limit: '16kb' }), async (req, res, next) => {
    try {
      const access = await services.verifyToken(req.headers.authorization);
      if (!mayCreateLaunches(access)) {
        oauthError(res, 403, 'insufficient_scope', 'Creating a launch needs a token with user/ or system/ scopes.');
        return;
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const text = (name: string): string | undefined => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
      const patient = text('patient');
      if (!patient) {
        oauthError(res, 400, 'invalid_request', 'Send JSON with "patient" (a Patient id) and optionally "encounter", "user" (a login) and "client_id".');
        return;
      }
      const launch = await createLaunch(services.db, { patient, encounter: text('encounter'), login: text('user'), clientId: text('client_id') });
      res.status(201).setHeader('Cache-Control', 'no-store').json({
        launch: launch.id,
        patient: launch.patient,
        ...(launch.encounter ? { encounter: launch.encounter } : {}),
        expires_at: launch.expiresAt.toISOString(),
        iss: services.fhirBaseUrl,
      });
    } catch (err) {
      if (err instanceof LaunchError) {
        oauthError(res, 400, 'invalid_request', err.message);
        return;
      }
      if (err instanceof FhirError && err.status === 401) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        oauthError(res, 401, 'invalid_token', 'Creating a launch needs a bearer access token with user/ or system/ scopes.');
        return;
      }
      next(err);
    }
  });

  // RFC 6585 §4: 429 with Retry-After, in the token endpoint's own error format (RFC 6749 §5.2).
  router.post('/token', form, (req, res, next) => {
    const decision = services.rateLimits.token.take(`${req.ip}|${tokenClientOf(req)}`);
    if (decision.allowed) return next();
    res.setHeader('Retry-After', String(decision.retryAfterSeconds));
    oauthError(res, 429, 'temporarily_unavailable', `Too many token requests from this client and address; retry after ${decision.retryAfterSeconds} seconds.`);
  });
  router.post('/introspect', form, async (req, res, next) => {
    const token = formOf(req).token ?? '';
    // Refresh tokens (opaque) are oidc-provider's to introspect, for the client that holds them;
    // a resource server introspecting with its bearer token asks about access tokens (JWTs), so
    // anything else is simply not active for it.
    const asResourceServer = /^Bearer\s/i.test(req.headers.authorization ?? '');
    if (!looksLikeJwt(token) && !asResourceServer) return next();
    try {
      // RFC 7662 §2.1: the caller must be authorized — a confidential client of this server or
      // the holder of a valid access token — so tokens cannot be probed anonymously.
      if (!(await mayIntrospect(services, req))) {
        res.setHeader('WWW-Authenticate', 'Bearer, Basic');
        oauthError(res, 401, 'invalid_client', 'Introspection needs client authentication (HTTP Basic with the client secret) or a bearer access token.');
        return;
      }
      res.setHeader('Cache-Control', 'no-store');
      res.json(looksLikeJwt(token) ? await introspectAccessToken(services.db, services.accessTokenKeys, token) : { active: false });
    } catch (err) {
      next(err);
    }
  });
  router.post('/revoke', form, async (req, res, next) => {
    const body = formOf(req);
    if (!looksLikeJwt(body.token ?? '')) return next();
    try {
      const outcome = await revokeAccessToken(services.db, services.accessTokenKeys, body.token, basicClientId(req) ?? body.client_id);
      if (outcome === 'other-client') {
        oauthError(res, 400, 'invalid_request', 'The token was issued to another client.');
        return;
      }
      if (outcome === 'revoked') await services.revokedTokens.refresh();
      // RFC 7009 §2.2: 200 also for a token that is invalid or unknown.
      res.status(200).setHeader('Cache-Control', 'no-store').end();
    } catch (err) {
      next(err);
    }
  });
  router.get('/smart-style.json', (_req, res) => {
    res.json({ color_background: '#ffffff', color_error: '#9b1c1c', color_highlight: '#1d4ed8', color_modal_backdrop: '', color_success: '#166534', color_text: '#1a1a1a', dim_border_radius: '4px', dim_font_size: '16px', dim_spacing_size: '16px', font_family_body: 'system-ui, sans-serif', font_family_heading: 'system-ui, sans-serif' });
  });
  router.use(provider.callback() as unknown as express.RequestHandler);
  return router;
}

/**
 * OpenID Connect Core §11 honours `offline_access` only with `prompt=consent`, and oidc-provider
 * drops it otherwise; SMART apps ask for `offline_access` without a prompt
 * (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-a-refresh-token).
 * kanplan asks for consent on every authorization anyway, so the prompt is added here.
 */
function askConsentForOfflineAccess(req: Request, _res: Response, next: NextFunction): void {
  const url = new URL(req.url, 'http://localhost');
  const scope = (url.searchParams.get('scope') ?? '').split(' ');
  const prompt = (url.searchParams.get('prompt') ?? '').split(' ').filter(Boolean);
  if (scope.includes('offline_access') && !prompt.includes('consent') && !prompt.includes('none')) {
    url.searchParams.set('prompt', [...prompt, 'consent'].join(' '));
    req.url = `${url.pathname}${url.search}`;
  }
  next();
}

/** express keeps the response on the request; interactionDetails wants both. */
function responseOf(req: Request): Response {
  return req.res as Response;
}
