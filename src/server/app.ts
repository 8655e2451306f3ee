import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { SYSTEM_ACCESS, type TokenVerifier } from '../auth/access.ts';
import type { FhirContext } from '../fhir/context.ts';
import { BearerTokenError, FhirError, MethodNotAllowedError, RetryLaterError, badRequest, outcomeOf, payloadTooLarge, statusOf } from '../outcomes.ts';
import { preferReturn, type FhirRequest, type FhirResponse } from '../fhir/request.ts';
import { handleFhirRequest, recordRefusedRequest, type RefusedRequest } from '../fhir/audit/audited-request.ts';
import { withStoreOutcome } from '../fhir/store-outcomes.ts';
import { httpDate } from '../fhir/versioning.ts';
import type { Database } from '../store/database.ts';
import { assertAcceptsJson, mediaType, parseBody } from './content-negotiation.ts';
import { bearerChallengeHeader } from './bearer-challenge.ts';
import { createCorsMiddleware, type CorsPolicy } from './cors.ts';
import { WEB_APP_PATH, webAppRouter } from './web-app.ts';
import { requestIdOf, responseHeaders } from './response-headers.ts';
import { refuseNulCharacters } from './nul-characters.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A path with a broken %XX escape is the client's error (400), not an unexpected one (500). */
function decodePath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    throw badRequest(`The URL path ${JSON.stringify(rawPath.slice(0, 200))} has a malformed percent-encoding; escape reserved characters as %XX (RFC 3986).`);
  }
}

/** What a refused request's AuditEvent names: method, path (raw when it cannot be decoded) and query. */
function refusedRequestOf(req: Request, basePath: string): RefusedRequest {
  const url = new URL(req.originalUrl, 'http://localhost');
  const rawPath = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) : url.pathname;
  let path = rawPath;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    // Recorded as sent: the malformed escape is the reason for the refusal.
  }
  return { method: req.method, path: path.replace(/^\/+|\/+$/g, ''), query: [...url.searchParams] };
}

function toFhirRequest(req: Request, basePath: string): FhirRequest {
  const url = new URL(req.originalUrl, 'http://localhost');
  const path = decodePath(url.pathname.slice(basePath.length)).replace(/^\/+|\/+$/g, '');
  const contentType = mediaType(header(req, 'content-type'));
  return {
    method: req.method as FhirRequest['method'],
    path,
    query: [...url.searchParams],
    contentType,
    body: parseBody(Buffer.isBuffer(req.body) ? req.body : undefined, contentType),
    headers: {
      ifMatch: header(req, 'if-match'),
      ifNoneMatch: header(req, 'if-none-match'),
      ifNoneExist: header(req, 'if-none-exist'),
      ifModifiedSince: header(req, 'if-modified-since'),
      prefer: header(req, 'prefer'),
    },
  };
}

function serialize(body: unknown, pretty: boolean): string {
  return pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body);
}

function isPretty(req: Request): boolean {
  return req.query._pretty === 'true';
}

/** Writes a FhirResponse, applying `Prefer: return` to writes (https://hl7.org/fhir/R4/http.html#ops). */
function send(req: Request, res: Response, request: FhirRequest, response: FhirResponse): void {
  if (response.location) res.setHeader('Location', response.location);
  if (response.etag) res.setHeader('ETag', response.etag);
  if (response.lastModified) res.setHeader('Last-Modified', httpDate(response.lastModified));
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  res.status(response.status);
  if (response.raw) {
    res.type(response.raw.contentType).send(response.raw.body);
    return;
  }
  if (response.status === 304) {
    res.end();
    return;
  }
  // Prefer: return applies to writes of a resource; a batch/transaction applies it per entry,
  // and an operation's output is always returned.
  const isWrite = request.method !== 'GET' && request.method !== 'HEAD' && request.path !== '' && !request.path.includes('$');
  const prefer = isWrite ? preferReturn(request) : 'representation';
  const pretty = isPretty(req);
  if (prefer === 'representation' && response.resourceJson !== undefined && !pretty) {
    res.setHeader('Content-Type', FHIR_JSON);
    res.send(response.resourceJson);
    return;
  }
  const body = prefer === 'minimal' ? undefined : prefer === 'OperationOutcome' ? response.outcome : (response.resource ?? response.outcome);
  if (body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', FHIR_JSON);
  res.send(serialize(body, pretty));
}

/** Writes a streamed body piece by piece, waiting for the socket to drain (memory stays flat however large the body). */
async function sendStream(res: Response, response: FhirResponse, stream: NonNullable<FhirResponse['stream']>): Promise<void> {
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  res.status(response.status).setHeader('Content-Type', stream.contentType);
  for await (const piece of stream.body) {
    if (res.destroyed) return;
    if (!res.write(piece)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
  }
  res.end();
}

/**
 * An unexpected failure is logged whole (stack, database message) under the request id, and the
 * client is told only that id: no stack trace, SQL or driver message leaves the server.
 */
function sendError(req: Request, res: Response, logger: Logger, thrown: unknown): void {
  // The store's errors met outside an interaction (readiness, sign-in) get their outcome too.
  const err = withStoreOutcome(thrown);
  const status = statusOf(err);
  const requestId = requestIdOf(req);
  if (status >= 500) {
    logger.error({ err, requestId, method: req.method, url: req.originalUrl }, 'request failed');
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  if (err instanceof MethodNotAllowedError) res.setHeader('Allow', err.allow.join(', '));
  if (err instanceof RetryLaterError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  // RFC 6750 §3: every 401 challenges for a bearer token; a 403 for want of scope says which scope.
  if (err instanceof BearerTokenError) res.setHeader('WWW-Authenticate', bearerChallengeHeader(err.challenge));
  else if (status === 401) res.setHeader('WWW-Authenticate', bearerChallengeHeader({}));
  res.status(status).setHeader('Content-Type', FHIR_JSON).send(serialize(outcomeOf(err, requestId), isPretty(req)));
}

export interface AppServices {
  readonly ctx: FhirContext;
  readonly db: Database;
  readonly logger: Logger;
  /** Path of the FHIR base on this server, e.g. "/fhir". */
  readonly basePath: string;
  /** Whether the server is still accepting work (false while shutting down). */
  readonly isAccepting: () => boolean;
  readonly verifyToken: TokenVerifier;
  /** Which browser origins may read the answers of the FHIR API, discovery and the token endpoint. */
  readonly corsPolicy: CorsPolicy;
  /** Mounts the embedded authorization server's routes (before the FHIR base), when it runs. */
  readonly mountAuthorization?: (app: express.Express) => void;
}

/**
 * The authorization server's endpoints that browser apps call with fetch (token exchange and
 * refresh, key set, introspection, revocation); /auth/authorize is a page navigation, not CORS.
 * The CORS middleware runs before the authorization server's router: it answers every preflight
 * itself, and oidc-provider leaves a response alone once it carries Access-Control-* headers. A
 * simple (non-preflighted) request from an origin this policy refuses still reaches oidc-provider,
 * whose own check (`clientBasedCORS`) should answer from the same origin source.
 */
export const BROWSER_AUTH_PATHS = ['/auth/token', '/auth/jwks', '/auth/introspect', '/auth/revoke'];

/** Discovery needs no token (SMART App Launch: the CapabilityStatement is public). */
function isDiscovery(request: FhirRequest): boolean {
  return request.method === 'GET' && (request.path === 'metadata' || request.path === '.well-known/smart-configuration');
}

/** The HTTP edge: content negotiation, headers, errors as OperationOutcome. Nothing FHIR-specific lives here. */
export function createApp(services: AppServices): express.Express {
  const { ctx, db, logger, basePath } = services;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // req.ip (rate limits, logs): the socket's address, or the client's as named by this many proxies.
  app.set('trust proxy', ctx.config.rateLimits.trustProxyHops);
  app.use(responseHeaders({ behindTls: new URL(ctx.config.baseUrl).protocol === 'https:' }));
  app.use((req, res, next) => {
    const started = performance.now();
    res.once('finish', () => logger.debug({ requestId: requestIdOf(req), method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request'));
    next();
  });

  // Before every router that browsers call, so that preflights are answered and every response,
  // errors included, carries the CORS headers (else the page cannot even read a 401).
  const cors = createCorsMiddleware(services.corsPolicy);
  app.use(BROWSER_AUTH_PATHS, cors);
  app.use(basePath, cors);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (req, res) => {
    if (!services.isAccepting()) {
      res.status(503).json({ status: 'unavailable', reason: 'shutting down' });
      return;
    }
    try {
      await ctx.repo.ping();
      res.json({ status: 'ready', database: db.driver });
    } catch (err) {
      // The driver's message (host, port, SQL) goes to the log, not to whoever asks.
      logger.warn({ err, requestId: requestIdOf(req) }, 'readiness check: database unavailable');
      res.status(503).json({ status: 'unavailable', reason: 'database unavailable' });
    }
  });

  services.mountAuthorization?.(app);
  app.use(WEB_APP_PATH, webAppRouter());

  const authenticateCaller = (req: Request) => () => services.verifyToken(header(req, 'authorization'));
  /** A request refused before handleFhirRequest saw it gets its AuditEvent here (that function records the rest). */
  const auditRefusal = (req: Request, err: unknown): Promise<void> => recordRefusedRequest(ctx, refusedRequestOf(req, basePath), err, authenticateCaller(req));

  const fhir = express.Router();
  // Answers hold health records: a browser may not keep them (without a freshness header one
  // re-used a token-authorized read for a later request without a token, heuristically fresh
  // from Last-Modified) and no proxy may store them. Revalidation with If-None-Match still works.
  fhir.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  fhir.use(express.raw({ type: () => true, limit: ctx.config.maxBodyBytes }));
  fhir.use(async (req, res) => {
    let handled = false;
    try {
      if (!METHODS.has(req.method)) {
        throw new MethodNotAllowedError(`HTTP ${req.method} is not a FHIR interaction; FHIR uses ${[...METHODS].join(', ')}.`, [...METHODS]);
      }
      const request = toFhirRequest(req, basePath);
      refuseNulCharacters(request, Buffer.isBuffer(req.body) ? req.body : undefined);
      const isOperation = /(^|\/)\$[\w-]+$/.test(request.path);
      assertAcceptsJson(header(req, 'accept'), typeof req.query._format === 'string' ? req.query._format : undefined, isOperation);
      const authenticate = isDiscovery(request) ? () => Promise.resolve(SYSTEM_ACCESS) : authenticateCaller(req);
      handled = true;
      const response = await handleFhirRequest(ctx, request, authenticate);
      if (response.stream) {
        await sendStream(res, response, response.stream);
        return;
      }
      send(req, res, request, response);
    } catch (err) {
      if (!handled) await auditRefusal(req, err);
      sendError(req, res, logger, err);
    }
  });
  app.use(basePath, fhir);

  app.use((req: Request, res: Response) => {
    sendError(req, res, logger, new FhirError(404, [{ severity: 'error', code: 'not-found', diagnostics: `Nothing is served at ${req.path}; the FHIR API is at ${basePath}.` }]));
  });
  // Body-parser failures (size limit, aborted upload) arrive here; under the FHIR base they are audited.
  app.use(async (err: Error & { type?: string; status?: number }, req: Request, res: Response, _next: NextFunction) => {
    const refusal =
      err.type === 'entity.too.large'
        ? payloadTooLarge(`The request body exceeds the limit of ${ctx.config.maxBodyBytes} bytes (MAX_BODY_SIZE).`)
        : err.status && err.status < 500
          ? new FhirError(err.status, [{ severity: 'error', code: 'invalid', diagnostics: err.message }])
          : err;
    if (req.originalUrl === basePath || req.originalUrl.startsWith(`${basePath}/`) || req.originalUrl.startsWith(`${basePath}?`)) await auditRefusal(req, refusal);
    sendError(req, res, logger, refusal);
  });
  return app;
}
