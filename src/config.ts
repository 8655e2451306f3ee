import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytes, boolean, ConfigError, integer, url, type Env } from './config/env-values.ts';
import {
  auditSettings,
  bulkExportSettings,
  jobsSettings,
  subscriptionsSettings,
  workflowSettings,
  type AuditSettings,
  type BulkExportSettings,
  type JobSettings,
  type SubscriptionSettings,
  type WorkflowSettings,
} from './config/background-settings.ts';

export { ConfigError } from './config/env-values.ts';
export type { AuditSettings, BulkExportSettings, JobSettings, SubscriptionSettings, WorkflowSettings } from './config/background-settings.ts';

/** How the server checks access tokens (README, "Authorization"). */
export interface AuthSettings {
  readonly mode: 'jwt' | 'off';
  readonly jwksUrl?: string;
  readonly keyFile: string;
  readonly issuer: string;
  readonly audience: string;
  /** The external authorization server's token endpoint (SMART discovery); unset: no OAuth discovery. */
  readonly tokenUrl?: string;
  /** Its authorization endpoint, for user-facing SMART App Launch. */
  readonly authorizeUrl?: string;
  /** Its token introspection endpoint (RFC 7662), advertised in discovery. */
  readonly introspectUrl?: string;
  /** Its token revocation endpoint (RFC 7009), advertised in discovery. */
  readonly revokeUrl?: string;
  /**
   * Let the embedded server fetch client JWKS URLs on loopback and private networks. Off by
   * default: oidc-provider refuses them to prevent server-side request forgery.
   */
  readonly allowPrivateJwksUrls?: boolean;
}

/**
 * Which browser origins may call the FHIR API, discovery and the token endpoint (CORS, for SMART
 * apps that run in a browser: https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html).
 */
export interface CorsSettings {
  /**
   * CORS_ORIGINS: the allowed origins (`https://app.example.org`), or '*' for any origin. Unset:
   * the origins of the registered clients' redirect URIs.
   */
  readonly origins?: readonly string[] | '*';
  /**
   * CORS_ALLOW_CREDENTIALS: let browsers send cookies along. SMART apps send their token in the
   * Authorization header, which needs no credentials mode, so it is off by default.
   */
  readonly allowCredentials: boolean;
}

/** Every setting of the server, read once at start. See README "Configuration". */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Public base URL of the FHIR endpoint, used in Location headers, fullUrls and paging links. */
  readonly baseUrl: string;
  /** PostgreSQL connection string; when absent the embedded PGlite database in dataDir is used. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /**
   * PostgreSQL shared_buffers of the embedded database. PGlite keeps them in its WebAssembly
   * memory, so they count fully in the server's RSS; the files it reads stay in the OS page cache.
   */
  readonly embeddedSharedBuffersBytes: number;
  /**
   * Where install time leaves the embedded database's template data directories (EMBEDDED_TEMPLATE_DIR,
   * `.cache/embedded-template` in the package by default; `off`: none), src/server/embedded-template.ts.
   */
  readonly embeddedTemplateDir: string | undefined;
  readonly maxBodyBytes: number;
  /** SHUTDOWN_GRACE_SECONDS: how long a shutdown waits for running requests before closing their connections. */
  readonly shutdownGraceMs: number;
  readonly maxBundleEntries: number;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  readonly logLevel: string;
  /** Load the example documents into an empty database at start (npm start does). */
  readonly loadDemoData: boolean;
  /** Validate resources with Kansas content against their Kansas profile even without meta.profile. */
  readonly validateKansasPlansWithoutMetaProfile: boolean;
  /**
   * An extension whose URL neither R4 nor a profile the server knows defines is an error rather
   * than a warning (STRICT_EXTENSIONS; docs/validation.md).
   */
  readonly strictExtensions: boolean;
  /** A string with an HTML tag in it is refused (SECURITY_CHECKS; docs/validation.md). */
  readonly securityChecks: boolean;
  /** A URL or reference in a reserved example domain is refused (REFUSE_EXAMPLE_URLS; docs/validation.md). */
  readonly refuseExampleUrls: boolean;
  /**
   * Longest time from a plan's start to its next review that `$import-document` accepts. 42 CFR
   * 441.301(c)(3) requires a review at least every 12 months; no Kansas-specific interval was
   * found (domain.md), so it is a setting with the federal maximum as default and upper bound.
   */
  readonly planReviewIntervalMonths: number;
  readonly auth: AuthSettings;
  readonly cors: CorsSettings;
  /** The TCM ⇄ care coordinator workflow (src/workflow/, issue 16). */
  readonly workflow: WorkflowSettings;
  /** The background job runner of this process (src/jobs/). */
  readonly jobs: JobSettings;
  /** Bulk Data $export (src/fhir/bulk/). */
  readonly bulkExport: BulkExportSettings;
  /** Subscription delivery (src/fhir/subscriptions/). */
  readonly subscriptions: SubscriptionSettings;
  readonly rateLimits: RateLimits;
  /** AuditEvents of every request (src/fhir/audit/). */
  readonly audit: AuditSettings;
  readonly searchLimits: SearchLimits;
}

/** What one search may cost (README "Running in production", Limits). */
export interface SearchLimits {
  /**
   * SEARCH_TIMEOUT_MS: longest a search statement may run on PostgreSQL before it is stopped and
   * answered 422 too-costly (0: no limit). The embedded database cannot stop a running statement.
   */
  readonly timeoutMs: number;
  /**
   * COSTLY_SEARCH_CONCURRENCY: costly searches (:contains, chains, _sort, …) running at once per
   * process; one more is answered 503 with Retry-After (0: no limit). Below the pool size (10), so
   * that cheap reads always find a connection.
   */
  readonly costlyConcurrency: number;
}

/**
 * One costly search per two cores of this machine (at least one): each takes about a core, in
 * PostgreSQL (a scan, run without parallel workers) or here (a large answer built on the one
 * thread). At 559k resources on 2 cores, plain reads' p99 beside a stream of pathological
 * searches was 72 ms with 4 slots and 21–24 ms with 1 (9–10 ms alone; bench/RESULTS-reliability.md).
 */
const DEFAULT_COSTLY_SEARCHES = Math.max(1, Math.floor(os.availableParallelism() / 2));

/** At most `limit` attempts per key in `windowMs` (0: no limit). */
export interface RateLimitSettings {
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * Rate limits of the embedded authorization server, per process (src/server/rate-limit.ts):
 * token requests per client and address, sign-in attempts per address and login name.
 */
export interface RateLimits {
  /** TOKEN_RATE_LIMIT requests per TOKEN_RATE_WINDOW_SECONDS to /auth/token. */
  readonly token: RateLimitSettings;
  /** LOGIN_RATE_LIMIT sign-in attempts per LOGIN_RATE_WINDOW_SECONDS. */
  readonly login: RateLimitSettings;
  /**
   * TRUST_PROXY: how many proxies in front of kanplan append to X-Forwarded-For (0: none; the
   * client address is the socket's). Behind a load balancer set it, else every client shares
   * the balancer's address.
   */
  readonly trustProxyHops: number;
}

/** EMBEDDED_SHARED_BUFFERS: at least PostgreSQL's minimum of 16 buffers of 8 kB. */
function sharedBuffers(env: Env): number {
  const value = bytes(env, 'EMBEDDED_SHARED_BUFFERS', 32 * 1024 ** 2);
  if (value < 128 * 1024) {
    throw new ConfigError(`EMBEDDED_SHARED_BUFFERS=${env.EMBEDDED_SHARED_BUFFERS} is too small: PostgreSQL needs at least 128kb.`);
  }
  return value;
}

/** CORS_ORIGINS: a comma list of origins (scheme://host[:port], nothing after), or `*`. */
function corsOrigins(env: Env): readonly string[] | '*' | undefined {
  const raw = env.CORS_ORIGINS?.trim();
  if (!raw) return undefined;
  if (raw === '*') return '*';
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    // An origin is exactly scheme://host[:port]; a trailing path or slash would never match a browser's Origin header.
    const bare = parsed && parsed.pathname === '/' && !origin.endsWith('/') && !parsed.search && !parsed.hash && !parsed.username;
    if (!parsed || !bare || !/^https?:$/.test(parsed.protocol)) {
      throw new ConfigError(`CORS_ORIGINS entry ${JSON.stringify(origin)} is not an origin: write scheme://host[:port] without a path, e.g. https://app.example.org, or * alone.`);
    }
    return parsed.origin;
  });
}

function corsSettings(env: Env): CorsSettings {
  const origins = corsOrigins(env);
  const allowCredentials = boolean(env, 'CORS_ALLOW_CREDENTIALS', false);
  // The Fetch standard refuses `Access-Control-Allow-Origin: *` on a credentialed request, and
  // reflecting every origin with credentials would let any site act with a user's cookies.
  if (origins === '*' && allowCredentials) {
    throw new ConfigError('CORS_ORIGINS=* cannot be combined with CORS_ALLOW_CREDENTIALS=true: list the allowed origins instead.');
  }
  return { origins, allowCredentials };
}

/**
 * AUTH_MODE=off serves every resource to anyone; it exists for local experiments and must never
 * reach a production deployment.
 */
function refuseAuthOffInProduction(env: Env, auth: AuthSettings): void {
  if (auth.mode === 'off' && env.NODE_ENV === 'production') {
    throw new ConfigError('AUTH_MODE=off is refused when NODE_ENV=production: it would serve every record without a token. Remove AUTH_MODE (tokens are then required) or unset NODE_ENV for a local experiment.');
  }
}

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function embeddedTemplateDir(env: Env): string | undefined {
  const value = env.EMBEDDED_TEMPLATE_DIR;
  if (value === 'off') return undefined;
  return path.resolve(value || path.join(PACKAGE_ROOT, '.cache', 'embedded-template'));
}

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const port = overrides.port ?? integer(env, 'PORT', 8080, 0, 65535);
  const host = overrides.host ?? env.HOST ?? '0.0.0.0';
  const databaseUrl = overrides.databaseUrl ?? (env.DATABASE_URL || undefined);
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://.');
  }
  const defaultPageSize = overrides.defaultPageSize ?? integer(env, 'DEFAULT_PAGE_SIZE', 20, 1, 10_000);
  const maxPageSize = overrides.maxPageSize ?? integer(env, 'MAX_PAGE_SIZE', 1000, 1, 10_000);
  if (defaultPageSize > maxPageSize) {
    throw new ConfigError(`DEFAULT_PAGE_SIZE (${defaultPageSize}) must not exceed MAX_PAGE_SIZE (${maxPageSize}).`);
  }
  const baseUrl = overrides.baseUrl ?? url(env, 'BASE_URL', `http://localhost:${port}/fhir`);
  const dataDir = path.resolve(overrides.dataDir ?? env.DATA_DIR ?? 'data');
  const authMode = env.AUTH_MODE ?? 'jwt';
  if (authMode !== 'jwt' && authMode !== 'off') {
    throw new ConfigError(`AUTH_MODE=${authMode} is not valid: expected jwt (the default) or off.`);
  }
  // External-IdP mode: its tokens come with its own keys; naming its endpoints without its keys
  // would make kanplan advertise a server whose tokens it then rejects.
  if (!env.AUTH_JWKS_URL && (env.AUTH_AUTHORIZE_URL || env.AUTH_INTROSPECT_URL || env.AUTH_REVOKE_URL) && !env.AUTH_TOKEN_URL) {
    throw new ConfigError('AUTH_AUTHORIZE_URL, AUTH_INTROSPECT_URL and AUTH_REVOKE_URL describe an external authorization server: set its AUTH_TOKEN_URL (and AUTH_JWKS_URL, AUTH_ISSUER) too, or unset them to use the built-in one.');
  }
  const auth: AuthSettings = overrides.auth ?? {
    mode: authMode,
    jwksUrl: env.AUTH_JWKS_URL ? url(env, 'AUTH_JWKS_URL', '') : undefined,
    keyFile: path.resolve(env.AUTH_KEY_FILE ?? path.join(dataDir, 'auth', 'signing-key.json')),
    issuer: env.AUTH_ISSUER ?? baseUrl,
    audience: env.AUTH_AUDIENCE ?? baseUrl,
    tokenUrl: env.AUTH_TOKEN_URL ? url(env, 'AUTH_TOKEN_URL', '') : undefined,
    authorizeUrl: env.AUTH_AUTHORIZE_URL ? url(env, 'AUTH_AUTHORIZE_URL', '') : undefined,
    introspectUrl: env.AUTH_INTROSPECT_URL ? url(env, 'AUTH_INTROSPECT_URL', '') : undefined,
    revokeUrl: env.AUTH_REVOKE_URL ? url(env, 'AUTH_REVOKE_URL', '') : undefined,
    allowPrivateJwksUrls: boolean(env, 'AUTH_ALLOW_PRIVATE_JWKS_URLS', false),
  };
  refuseAuthOffInProduction(env, auth);
  return {
    port,
    host,
    baseUrl,
    databaseUrl,
    dataDir,
    embeddedSharedBuffersBytes: overrides.embeddedSharedBuffersBytes ?? sharedBuffers(env),
    embeddedTemplateDir: 'embeddedTemplateDir' in overrides ? overrides.embeddedTemplateDir : embeddedTemplateDir(env),
    maxBodyBytes: overrides.maxBodyBytes ?? bytes(env, 'MAX_BODY_SIZE', 16 * 1024 ** 2),
    shutdownGraceMs: overrides.shutdownGraceMs ?? integer(env, 'SHUTDOWN_GRACE_SECONDS', 10, 0, 3600) * 1000,
    maxBundleEntries: overrides.maxBundleEntries ?? integer(env, 'MAX_BUNDLE_ENTRIES', 10_000, 1, 100_000),
    defaultPageSize,
    maxPageSize,
    logLevel: overrides.logLevel ?? env.LOG_LEVEL ?? 'info',
    loadDemoData: overrides.loadDemoData ?? boolean(env, 'LOAD_DEMO_DATA', true),
    validateKansasPlansWithoutMetaProfile:
      overrides.validateKansasPlansWithoutMetaProfile ?? boolean(env, 'VALIDATE_KANSAS_WITHOUT_PROFILE', true),
    strictExtensions: overrides.strictExtensions ?? boolean(env, 'STRICT_EXTENSIONS', false),
    securityChecks: overrides.securityChecks ?? boolean(env, 'SECURITY_CHECKS', false),
    refuseExampleUrls: overrides.refuseExampleUrls ?? boolean(env, 'REFUSE_EXAMPLE_URLS', false),
    planReviewIntervalMonths: overrides.planReviewIntervalMonths ?? integer(env, 'PLAN_REVIEW_INTERVAL_MONTHS', 12, 1, 12),
    workflow: overrides.workflow ?? workflowSettings(env),
    jobs: overrides.jobs ?? jobsSettings(env),
    bulkExport: overrides.bulkExport ?? bulkExportSettings(env),
    subscriptions: overrides.subscriptions ?? subscriptionsSettings(env),
    rateLimits: overrides.rateLimits ?? {
      token: { limit: integer(env, 'TOKEN_RATE_LIMIT', 120, 0, 1_000_000), windowMs: integer(env, 'TOKEN_RATE_WINDOW_SECONDS', 60, 1, 86_400) * 1000 },
      login: { limit: integer(env, 'LOGIN_RATE_LIMIT', 10, 0, 1_000_000), windowMs: integer(env, 'LOGIN_RATE_WINDOW_SECONDS', 300, 1, 86_400) * 1000 },
      trustProxyHops: integer(env, 'TRUST_PROXY', 0, 0, 10),
    },
    audit: overrides.audit ?? auditSettings(env),
    searchLimits: overrides.searchLimits ?? {
      timeoutMs: integer(env, 'SEARCH_TIMEOUT_MS', 15_000, 0, 3_600_000),
      costlyConcurrency: integer(env, 'COSTLY_SEARCH_CONCURRENCY', DEFAULT_COSTLY_SEARCHES, 0, 1000),
    },
    auth,
    cors: overrides.cors ?? corsSettings(env),
  };
}
