/** The settings of the server's background work: workflow reminders, jobs, exports, subscriptions, audit. See README "Configuration". */
import { boolean, integer, type Env } from './env-values.ts';

export interface SubscriptionSettings {
  /** Whether this process delivers notifications (SUBSCRIPTION_DELIVERY; off: another process on the database does). */
  readonly delivery: boolean;
  /** Plain http endpoints on loopback hosts are accepted (development); elsewhere https is required (SUBSCRIPTION_HTTP_LOOPBACK, default: on unless NODE_ENV=production). */
  readonly allowHttpLoopback: boolean;
  /** How often an idle worker looks for due deliveries (SUBSCRIPTION_POLL_MS). */
  readonly pollMs: number;
  /** Deliveries in flight per process (SUBSCRIPTION_WORKERS), and per endpoint origin (SUBSCRIPTION_PER_ENDPOINT). */
  readonly workers: number;
  readonly perEndpoint: number;
  /** Longest wait for a receiver's answer when the Subscription sets no backport-timeout (SUBSCRIPTION_TIMEOUT_SECONDS). */
  readonly timeoutMs: number;
  /** First retry delay, doubled per failure up to SUBSCRIPTION_RETRY_MAX_MS (SUBSCRIPTION_RETRY_BASE_MS). */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long failed deliveries are retried before the lane parks until the client re-activates it (SUBSCRIPTION_RETRY_HOURS, at least 24 by default). */
  readonly retryWindowMs: number;
  /** Consecutive failures after which the Subscription's status becomes error (SUBSCRIPTION_ERROR_AFTER). */
  readonly errorAfterFailures: number;
  /** How long delivered events stay for $events replay (SUBSCRIPTION_RETENTION_HOURS). */
  readonly retentionMs: number;
  /** How often a process checks for Subscriptions another process wrote (SUBSCRIPTION_REFRESH_MS). */
  readonly refreshMs: number;
  /** Days before its period ends that an active authorization notifies authorization-expiring (AUTHORIZATION_EXPIRING_DAYS, 30). */
  readonly authorizationExpiringDays?: number;
}

export interface AuditSettings {
  /** Whether every request is recorded as an AuditEvent (AUDIT). */
  readonly enabled: boolean;
  /**
   * AuditEvents older than this many days are removed by the job runner (AUDIT_RETENTION_DAYS;
   * 0 keeps them). Default six years, the retention HIPAA asks of security documentation
   * (45 CFR 164.316(b)(2)(i)).
   */
  readonly retentionDays: number;
  /** Longest time a read's AuditEvent waits in memory before it is stored (AUDIT_FLUSH_MS). */
  readonly flushMs: number;
  /**
   * Successful reads, searches and operation reads of one user, client, patient and interaction
   * within a flush window are one AuditEvent, with one entity per request (AUDIT_READ_GROUPING,
   * on by default; off: one AuditEvent per request, exactly BALP's). See src/fhir/audit/read-event-groups.ts.
   */
  readonly readGrouping: boolean;
}

export interface JobSettings {
  /** Whether this process runs jobs (JOBS=off: it only serves; another process on the database runs them). */
  readonly enabled: boolean;
  /** How often an idle runner looks for queued jobs (JOB_POLL_MS). */
  readonly pollMs: number;
  /** How long a claimed job is held without a heartbeat before another process may take it over (JOB_LEASE_MS). */
  readonly leaseMs: number;
}

export interface WorkflowSettings {
  /**
   * Hours from an ANE report's authoring to its reporting deadline (Task.restriction.period.end).
   * Kansas law says "promptly" (K.S.A. 39-1431, 38-2223) and gives the reporter no hour count
   * (domain.md §6a: NOT FOUND), so it is a setting; 24 matches DCF's own shortest response time.
   */
  readonly aneReportDeadlineHours: number;
  /** Days before a plan's review due date at which the scheduled job creates its plan-review-due Task (PLAN_REVIEW_WINDOW_DAYS). */
  readonly planReviewWindowDays: number;
  /**
   * Days from a person's last functional assessment to the next one (FUNCTIONAL_ASSESSMENT_INTERVAL_DAYS):
   * "annually, within 365 days of the last one" (domain.md §4, BASIS/MFEI); the assessment-due Task
   * appears PLAN_REVIEW_WINDOW_DAYS before it.
   */
  readonly functionalAssessmentIntervalDays: number;
  /** How often the plan-review and assessment-due job is queued (REMINDER_JOB_EVERY_MINUTES); once per period across all processes; 0: never. */
  readonly reminderJobEveryMs: number;
}

export interface BulkExportSettings {
  /** How long the files of a finished export are kept (BULK_EXPORT_RETENTION_HOURS). */
  readonly retentionMs: number;
  /**
   * Resources per stored part and per checkpoint (BULK_EXPORT_BATCH). A download holds one part
   * as a string at a time; at 1,000 (~1.6 MB parts) a 620,000-resource export grew the server's
   * RSS by 158 MiB, at 250 by 113 MiB (bench/RESULTS.md, issue 17's budget is ~100 MiB).
   */
  readonly batchSize: number;
}

/** The TCM ⇄ care coordinator workflow (src/workflow/). */
export function workflowSettings(env: Env): WorkflowSettings {
  return {
    aneReportDeadlineHours: integer(env, 'ANE_REPORT_DEADLINE_HOURS', 24, 1, 24 * 30),
    planReviewWindowDays: integer(env, 'PLAN_REVIEW_WINDOW_DAYS', 30, 1, 365),
    functionalAssessmentIntervalDays: integer(env, 'FUNCTIONAL_ASSESSMENT_INTERVAL_DAYS', 365, 1, 3660),
    reminderJobEveryMs: integer(env, 'REMINDER_JOB_EVERY_MINUTES', 60, 0, 7 * 24 * 60) * 60_000,
  };
}

/** The background job runner of this process (src/jobs/). */
export function jobsSettings(env: Env): JobSettings {
  return {
    enabled: boolean(env, 'JOBS', true),
    pollMs: integer(env, 'JOB_POLL_MS', 1000, 10, 600_000),
    leaseMs: integer(env, 'JOB_LEASE_MS', 30_000, 100, 3_600_000),
  };
}

/** Bulk Data $export (src/fhir/bulk/). */
export function bulkExportSettings(env: Env): BulkExportSettings {
  return {
    retentionMs: integer(env, 'BULK_EXPORT_RETENTION_HOURS', 24, 1, 24 * 365) * 3_600_000,
    batchSize: integer(env, 'BULK_EXPORT_BATCH', 250, 1, 100_000),
  };
}

/** Subscription delivery (src/fhir/subscriptions/). */
export function subscriptionsSettings(env: Env): SubscriptionSettings {
  return {
    delivery: boolean(env, 'SUBSCRIPTION_DELIVERY', true),
    allowHttpLoopback: boolean(env, 'SUBSCRIPTION_HTTP_LOOPBACK', env.NODE_ENV !== 'production'),
    pollMs: integer(env, 'SUBSCRIPTION_POLL_MS', 200, 10, 60_000),
    workers: integer(env, 'SUBSCRIPTION_WORKERS', 8, 1, 256),
    perEndpoint: integer(env, 'SUBSCRIPTION_PER_ENDPOINT', 2, 1, 256),
    timeoutMs: integer(env, 'SUBSCRIPTION_TIMEOUT_SECONDS', 10, 1, 600) * 1000,
    retryBaseMs: integer(env, 'SUBSCRIPTION_RETRY_BASE_MS', 5_000, 10, 3_600_000),
    retryMaxMs: integer(env, 'SUBSCRIPTION_RETRY_MAX_MS', 3_600_000, 10, 86_400_000),
    retryWindowMs: integer(env, 'SUBSCRIPTION_RETRY_HOURS', 24, 1, 24 * 30) * 3_600_000,
    errorAfterFailures: integer(env, 'SUBSCRIPTION_ERROR_AFTER', 5, 1, 1000),
    retentionMs: integer(env, 'SUBSCRIPTION_RETENTION_HOURS', 72, 1, 24 * 365) * 3_600_000,
    refreshMs: integer(env, 'SUBSCRIPTION_REFRESH_MS', 2_000, 50, 600_000),
    authorizationExpiringDays: integer(env, 'AUTHORIZATION_EXPIRING_DAYS', 30, 1, 365),
  };
}

/** AuditEvents of every request (src/fhir/audit/). */
export function auditSettings(env: Env): AuditSettings {
  return {
    enabled: boolean(env, 'AUDIT', true),
    retentionDays: integer(env, 'AUDIT_RETENTION_DAYS', 2190, 0, 36_500),
    flushMs: integer(env, 'AUDIT_FLUSH_MS', 1000, 10, 1000),
    readGrouping: boolean(env, 'AUDIT_READ_GROUPING', true),
  };
}
