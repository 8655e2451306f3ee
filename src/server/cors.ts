import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CorsSettings } from '../config.ts';

/**
 * CORS for SMART apps that run in a browser (SMART App Launch 2.2, "apps run in browsers":
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html): an app served from its own origin
 * calls discovery, the token endpoint and the FHIR API with `fetch`, and the browser lets it read
 * the answers only if they carry the headers of the Fetch standard's CORS protocol
 * (https://fetch.spec.whatwg.org/#http-cors-protocol).
 *
 * A disallowed origin gets no CORS headers at all: the browser then withholds the response from
 * the page. A preflight from such an origin is still answered 204 (not 403): the refusal is the
 * missing headers, and the server reveals nothing more.
 */

/** Whether a browser origin (`https://app.example.org`) may read kanplan's responses. */
export type OriginSource = (origin: string) => Promise<boolean> | boolean;

/** How the CORS middleware answers; built from the configuration by `corsPolicy`. */
export interface CorsPolicy {
  /** '*' answers every origin with a wildcard (never with credentials). */
  readonly allowOrigin: OriginSource | '*';
  readonly allowCredentials: boolean;
}

/** The FHIR interactions' methods (https://hl7.org/fhir/R4/http.html) and the token endpoint's POST. */
const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
/**
 * Request headers a SMART app sends: the bearer token, FHIR's conditional and preference headers
 * (https://hl7.org/fhir/R4/http.html#ops), and the content negotiation ones outside the CORS safelist.
 */
const ALLOW_HEADERS = 'Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, X-Request-Id';
/** Response headers the page may read: versioning and paging of FHIR, and the bearer challenge of a 401/403. */
const EXPOSE_HEADERS = 'ETag, Location, Last-Modified, Content-Location, WWW-Authenticate';
/** Seconds a browser may reuse a preflight answer (Chromium caps it at 7200). */
const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/**
 * The allowed origins: the configured list (CORS_ORIGINS) when set, otherwise the origins of the
 * registered clients' redirect URIs, answered by `registeredClientOrigins`.
 */
export function corsPolicy(settings: CorsSettings, registeredClientOrigins: OriginSource): CorsPolicy {
  const { origins, allowCredentials } = settings;
  if (origins === '*') return { allowOrigin: '*', allowCredentials: false };
  if (origins === undefined) return { allowOrigin: registeredClientOrigins, allowCredentials };
  const listed = new Set(origins);
  return { allowOrigin: (origin) => listed.has(origin), allowCredentials };
}

/** No registered clients yet: no origin is allowed until the client registry answers. */
export const NO_REGISTERED_ORIGINS: OriginSource = () => false;

/** The browser's Origin, normalized as URL.origin writes it; undefined for none or an opaque `null`. */
function requestOrigin(req: Request): string | undefined {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return undefined;
  try {
    const parsed = new URL(origin);
    return parsed.origin === 'null' ? undefined : parsed.origin;
  } catch {
    return undefined;
  }
}

async function isAllowed(policy: CorsPolicy, origin: string): Promise<boolean> {
  return policy.allowOrigin === '*' ? true : await policy.allowOrigin(origin);
}

/**
 * Middleware for any router that browsers call (FHIR base, discovery, /auth/token …): mount it
 * before the router, e.g. `app.use('/auth/token', cors, tokenRouter)`. It answers preflights
 * itself and adds the CORS headers to every other response.
 */
export function createCorsMiddleware(policy: CorsPolicy): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    // Caches must keep answers for different origins apart (Fetch standard, "CORS protocol and HTTP caches").
    res.vary('Origin');
    const origin = requestOrigin(req);
    let allowed = false;
    try {
      allowed = origin !== undefined && (await isAllowed(policy, origin));
    } catch (err) {
      next(err);
      return;
    }
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', policy.allowOrigin === '*' ? '*' : (origin as string));
      if (policy.allowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (!preflight) {
      if (allowed) res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
      next();
      return;
    }
    if (allowed) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    res.status(204).end();
  };
}
