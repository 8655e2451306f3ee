import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { SYSTEM_ACCESS, createTokenVerifier } from '../auth/access.ts';
import type { Config } from '../config.ts';
import type { FhirContext } from '../fhir/context.ts';
import { CostlySearchSlots } from '../fhir/search-limits.ts';
import { accessRule } from '../fhir/writes/access-rule.ts';
import { representationRule } from '../fhir/writes/representation-rule.ts';
import { validationRule } from '../fhir/writes/validation-rule.ts';
import { roleRule } from '../fhir/writes/role-rule.ts';
import { taskStateRule } from '../fhir/writes/task-state-rule.ts';
import { authorizationDecisionRule } from '../fhir/writes/authorization-decision-rule.ts';
import { aneReportConsequence } from '../fhir/writes/consequences/ane-report.ts';
import { changeOfNeedsConsequence } from '../fhir/writes/consequences/change-of-needs.ts';
import { ispIntegrationConsequence } from '../fhir/writes/consequences/isp-integration.ts';
import { authorizationDecisionConsequence } from '../fhir/writes/consequences/authorization-decision.ts';
import { appendOnlyRule } from '../fhir/writes/append-only-rule.ts';
import { createOperations } from '../fhir/operations/registry.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { PlannerStatistics } from '../store/planner-statistics.ts';
import { SqlRepository } from '../store/sql-repository.ts';
import { loadConformance } from '../conformance/conformance.ts';
import { createResourceValidator } from '../validation/validator.ts';
import { createApp } from './app.ts';
import { installInitialContent } from './initial-content.ts';
import { findEmbeddedTemplate } from './embedded-template.ts';
import { answerWhileStarting, drainHttpServer } from './http-lifecycle.ts';
import { JobRunner } from '../jobs/job-runner.ts';
import { AuditLog } from '../fhir/audit/audit-log.ts';
import { AUDIT_RETENTION_EVERY_MS, AUDIT_RETENTION_JOB, auditRetentionJob } from '../fhir/audit/audit-retention.ts';
import { bulkExportJob } from '../fhir/bulk/export-job.ts';
import { DUE_REMINDERS_JOB, dueRemindersJob } from '../fhir/reminders/due-reminders.ts';
import { NO_REGISTERED_ORIGINS, corsPolicy, type OriginSource } from './cors.ts';
import { createSearchEngine } from './search-engine.ts';
import { SubscriptionRegistry } from '../fhir/subscriptions/subscription-registry.ts';
import { createSubscriptionOutbox } from '../fhir/subscriptions/outbox-participant.ts';
import { subscriptionRule } from '../fhir/subscriptions/subscription-rule.ts';
import { SubscriptionDelivery } from '../fhir/subscriptions/delivery.ts';
import { EXPIRING_AUTHORIZATIONS_JOB, expiringAuthorizationsJob } from '../fhir/subscriptions/expiring-authorizations.ts';
import { collectStartupGarbage } from './startup-garbage.ts';
import { isEmbeddedAuthorizationServer } from '../auth/smart-configuration.ts';
import { embeddedAuthorization } from './authorization.ts';
import { isRegisteredRedirectOrigin } from '../auth/server/clients.ts';
import { RevokedAccessTokens } from '../auth/server/revoked-tokens.ts';
import { ensureWebAppClient } from './web-app.ts';
import { DEMO_CLIENT_ID, describeDemoCredentials, seedDemoSignIn } from './demo-sign-in.ts';

/** How soon a revocation made through another server process stops a token here. */
const REVOCATION_POLL_MS = 5_000;

export interface RunningServer {
  /** Base URL of the FHIR endpoint as actually bound (the port resolved when 0 was asked). */
  readonly url: string;
  readonly ctx: FhirContext;
  readonly db: Database;
  /** Stops accepting connections, finishes in-flight requests, closes the database. */
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly logger?: Logger;
  /** An open, migrated database to use instead of opening one from the config (tests). */
  readonly db?: Database;
  /** Where the one-time demo passwords are printed (process.stdout by default). */
  readonly stdout?: { write(text: string): unknown };
  /**
   * CORS seam: whether an origin is the origin of a registered client's redirect URI. The default
   * CORS policy (CORS_ORIGINS unset) allows exactly these origins; the client registry of the
   * embedded authorization server answers it. Without one, no origin is allowed.
   */
  readonly registeredClientOrigins?: OriginSource;
  /** Called once the port is bound, before the server is ready (tests send requests there). */
  readonly whileStarting?: (url: string) => Promise<void>;
}

/**
 * AUTH_MODE=off serves every record to anyone who can reach the port. It is refused in production
 * (config.ts); anywhere else it is said loudly, in the log and on the terminal.
 */
function warnIfAuthorizationOff(config: Config, logger: Logger): void {
  if (config.auth.mode !== 'off') return;
  const warning = 'AUTH_MODE=off: authorization is DISABLED. Every request is served with full access, without a token. Use this only for local experiments, never with real people\'s records.';
  logger.warn({ authMode: 'off' }, warning);
  process.stderr.write(`\n*** WARNING: ${warning} ***\n\n`);
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, base: { service: 'kanplan' } });
}

/**
 * Builds the FHIR context over an open database: conformance, validator, search engine, the
 * write rules and the repository with its write participants, operations, profiles.
 */
export function createFhirContext(config: Config, db: Database, logger: Logger, statistics?: PlannerStatistics): FhirContext {
  const conformance = loadConformance();
  const kansas = conformance.kansas;
  const search = createSearchEngine(conformance, config.baseUrl);
  // Subscriptions matched in the statement of each write (src/fhir/subscriptions/).
  const subscriptions = new SubscriptionRegistry(db, conformance.searchParameters, config.baseUrl, logger);
  return {
    repo: new SqlRepository(db, { participants: [search.indexParticipant, createSubscriptionOutbox(subscriptions)], statistics }),
    subscriptions,
    access: SYSTEM_ACCESS,
    config,
    conformance,
    validator: createResourceValidator(conformance, {
      validateKansasPlansWithoutMetaProfile: config.validateKansasPlansWithoutMetaProfile,
      strictExtensions: config.strictExtensions,
      securityChecks: config.securityChecks,
      refuseExampleUrls: config.refuseExampleUrls,
    }),
    // The JSON shape first (400), so that no rule reads a value whose shape it cannot trust; then
    // scopes: a write outside the caller's grant is 403 before its content is judged; then who may
    // write it (role rules, 403), whether the Task may move (409), whether an authorization
    // decision is complete (422), whether the record may change at all (Provenance and AuditEvent
    // are append-only, 405), and its content (400/422).
    writeRules: [representationRule, accessRule, roleRule, taskStateRule, authorizationDecisionRule, appendOnlyRule, validationRule, subscriptionRule],
    // What the server writes because of a write, in the same transaction (issue 16 "Exchanges").
    writeConsequences: [changeOfNeedsConsequence, ispIntegrationConsequence, aneReportConsequence, authorizationDecisionConsequence],
    search,
    operations: createOperations(kansas),
    logger,
    profiles: new Map(kansas.profiles.map((profile) => [profile.url, profile.type])),
    costlySearches: new CostlySearchSlots(config.searchLimits.costlyConcurrency),
  };
}

const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  warnIfAuthorizationOff(config, logger);
  const started = Date.now();
  // A new embedded data directory starts as a copy of the template made at install time, when one
  // of this version exists: no initdb, migrations or initial content to run (embedded-template.ts).
  const template = options.db ? undefined : findEmbeddedTemplate(config);
  const fromTemplate = template !== undefined;
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersBytes: config.embeddedSharedBuffersBytes, pgliteTemplate: template }));
  if (fromTemplate) logger.info({ template }, 'embedded database created from the install-time template');
  if (!options.db) {
    const applied = await migrate(db);
    if (applied.length) logger.info({ migrations: applied }, 'database schema migrated');
  }
  let accepting = true;
  const server = http.createServer();
  // Idle kept-alive connections stay open longer than a client's or load balancer's idle timeout
  // (undici keeps one 4 s, ALB 60 s): if the server closed first, a request sent on the connection
  // as it closes is lost ("fetch failed", seen in the PGlite soak while a long statement held the
  // event loop). Shutdown still closes idle connections at once.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  // Bound now (with PORT=0 the base URL is known only then), answered 503 until ready.
  server.on('request', answerWhileStarting);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = config.port === 0 ? config.baseUrl.replace(/:\d+(?=\/|$)/, `:${port}`) : config.baseUrl;
  await options.whileStarting?.(url);
  const statistics = (await PlannerStatistics.needed(db)) ? new PlannerStatistics(db, logger) : undefined;
  await statistics?.start();
  const base = createFhirContext({ ...config, baseUrl: url }, db, logger, statistics);
  // Background jobs of this database (Bulk Data exports, reminders): claimed from the job table, so several
  // processes on one PostgreSQL share them and a restart resumes them (src/jobs/).
  // The plan-review and assessment-due reminders are a recurring job: one per period across processes.
  const runner = new JobRunner(db, [bulkExportJob(base), dueRemindersJob(base), expiringAuthorizationsJob(base), auditRetentionJob(config.audit.retentionDays)], {
    pollMs: config.jobs.pollMs,
    leaseMs: config.jobs.leaseMs,
    retentionMs: config.bulkExport.retentionMs,
    logger,
    recurring: [
      ...(config.workflow.reminderJobEveryMs > 0 ? [{ kind: DUE_REMINDERS_JOB, everyMs: config.workflow.reminderJobEveryMs }] : []),
      // Time-based subscription events (authorization-expiring) at the reminders' pace.
      ...(config.workflow.reminderJobEveryMs > 0 ? [{ kind: EXPIRING_AUTHORIZATIONS_JOB, everyMs: config.workflow.reminderJobEveryMs }] : []),
      ...(config.audit.enabled && config.audit.retentionDays > 0 ? [{ kind: AUDIT_RETENTION_JOB, everyMs: AUDIT_RETENTION_EVERY_MS }] : []),
    ],
  });
  // Every request's AuditEvent (src/fhir/audit/): reads' stored at least once a second and at close.
  const audit = config.audit.enabled ? new AuditLog(base.repo, { flushMs: config.audit.flushMs, readGrouping: config.audit.readGrouping, logger }) : undefined;
  const ctx: FhirContext = { ...base, jobs: runner, audit };
  const registry = base.subscriptions as SubscriptionRegistry;
  await registry.start(config.subscriptions.refreshMs);
  // Subscription notifications from the outbox: lanes claimed like jobs, so processes share them.
  const delivery = new SubscriptionDelivery({
    repo: base.repo,
    registry,
    parameters: base.conformance.searchParameters,
    baseUrl: url,
    settings: config.subscriptions,
    leaseMs: Math.max(config.jobs.leaseMs, config.subscriptions.timeoutMs * 3),
    logger,
  });
  // A data directory copied from the template holds the demo data already, but no sign-ins yet.
  const demoLoaded = (await installInitialContent(ctx, config, logger)) || (fromTemplate && config.loadDemoData);
  if (demoLoaded && isEmbeddedAuthorizationServer(config.auth)) {
    const credentials = await seedDemoSignIn(ctx, db);
    if (credentials.length) {
      logger.warn({ users: credentials.map(({ login, fhirUser }) => ({ login, fhirUser })), client: DEMO_CLIENT_ID }, 'demo sign-in users created; their passwords are printed once on stdout');
      (options.stdout ?? process.stdout).write(describeDemoCredentials(credentials));
    }
  }
  const basePath = new URL(url).pathname.replace(/\/+$/, '');
  // Revocations made through any process reach this one's FHIR API within REVOCATION_POLL_MS.
  const revokedTokens = isEmbeddedAuthorizationServer(config.auth) ? new RevokedAccessTokens(db, REVOCATION_POLL_MS) : undefined;
  await revokedTokens?.start((err) => logger.warn({ err }, 'could not refresh the list of revoked access tokens'));
  const verifyToken = await createTokenVerifier(config.auth, revokedTokens);
  const mountAuthorization = revokedTokens ? await embeddedAuthorization({ config, url, basePath, db, ctx, verifyToken, revokedTokens, logger }) : undefined;
  // The app served at /app/ signs in through the embedded authorization server as its own public client.
  if (mountAuthorization) await ensureWebAppClient(db, url);
  // server.close() ends only the keep-alive connections idle at that moment; one that finishes an
  // in-flight request later would stay open until keepAliveTimeout. End each once it goes idle.
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!accepting) res.shouldKeepAlive = false;
    res.once('finish', () => {
      if (!accepting) setImmediate(() => server.closeIdleConnections());
    });
  });
  const registryOrigins: OriginSource | undefined = mountAuthorization ? (origin) => isRegisteredRedirectOrigin(db, origin) : undefined;
  const cors = corsPolicy(config.cors, options.registeredClientOrigins ?? registryOrigins ?? NO_REGISTERED_ORIGINS);
  server.off('request', answerWhileStarting);
  server.on('request', createApp({ ctx, db, logger, basePath, isAccepting: () => accepting, verifyToken, corsPolicy: cors, mountAuthorization }));
  if (config.jobs.enabled) runner.start();
  if (config.subscriptions.delivery) delivery.start();
  collectStartupGarbage();
  logger.info({ url, database: db.driver, startupMs: Date.now() - started }, 'kanplan is ready');
  return {
    url,
    ctx,
    db,
    async close() {
      accepting = false;
      // The running job goes back to the queue at its next checkpoint now, not after the requests
      // drain: a restart hands an export to the next process without working through the grace period.
      const jobsStopped = runner.stop();
      await drainHttpServer(server, config.shutdownGraceMs, logger);
      await audit?.close();
      await jobsStopped;
      await delivery.stop();
      await registry.stop();
      revokedTokens?.stop();
      await statistics?.settled();
      if (!options.db) await db.close();
      logger.info('kanplan stopped');
    },
  };
}
