import type { JobHandler } from '../../jobs/job-runner.ts';
import { INDEX_TABLES } from '../../search/index-writer.ts';
import type { SqlExecutor } from '../../store/database.ts';
import { pruneResourcesBefore } from '../../store/retention.ts';

const DAY_MS = 24 * 3_600_000;
/** A recurring job (jobs/job-runner.ts), queued once an hour however many processes run. */
export const AUDIT_RETENTION_JOB = 'audit-retention';
export const AUDIT_RETENTION_EVERY_MS = 3_600_000;
/** Statements per run at most: a backlog is removed over several runs rather than in one long burst. */
const MAX_ROUNDS = 100;

/**
 * Removes AuditEvents recorded more than `days` days before `now`, with their history and index
 * rows, a few thousand per statement (AUDIT_RETENTION_DAYS). Returns how many it removed.
 */
export async function pruneAuditEvents(db: SqlExecutor, days: number, now = Date.now()): Promise<number> {
  const before = new Date(now - days * DAY_MS);
  let removed = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const count = await pruneResourcesBefore(db, 'AuditEvent', before, INDEX_TABLES);
    removed += count;
    if (count === 0) break;
  }
  return removed;
}

/** The hourly retention job: its input is the period start (recurring jobs), its result how many it removed. */
export function auditRetentionJob(days: number): JobHandler {
  return {
    kind: AUDIT_RETENTION_JOB,
    async run(job, db) {
      const { at } = JSON.parse(job.input) as { at?: string };
      return JSON.stringify({ removed: await pruneAuditEvents(db, days, at ? Date.parse(at) : Date.now()) });
    },
  };
}
