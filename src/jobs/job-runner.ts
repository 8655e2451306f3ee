import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Database, SqlExecutor, SqlStatement } from '../store/database.ts';
import {
  claimJob, deleteExpiredJobs, finishJob, insertJobOnce, insertJobOutput, insertJobOutputFrom, releaseJob, renewLease, setJobProgress, type JobOutputPart, type StoredJob,
} from '../store/job-store.ts';

/** What a checkpoint may write in its transaction: parts of the job's output. */
export interface JobWrites {
  appendOutput(part: JobOutputPart): Promise<void>;
  /** A part whose lines are the `content` of a statement's rows (id order), assembled in the database; nothing when it has none. */
  appendOutputFrom(part: Omit<JobOutputPart, 'lines' | 'content'>, rows: SqlStatement): Promise<{ lines: number; lastId?: string }>;
}

/** A claimed job as its handler sees it. */
export interface RunningJob {
  readonly id: string;
  readonly input: string;
  /** The last checkpoint's progress: where a resumed job continues. */
  readonly progress: string | undefined;
  /** Aborted when the runner stops or the job was cancelled or taken over: stop at the next checkpoint. */
  readonly signal: AbortSignal;
  /**
   * Records progress and what it covers (output parts) in one transaction, renewing the lease.
   * Throws JobLostError when the job is no longer this process's (cancelled, or its lease ran out
   * and another process claimed it): nothing of the checkpoint is written.
   */
  checkpoint(progress: string, write?: (writes: JobWrites) => Promise<void>): Promise<void>;
  /**
   * A checkpoint whose progress depends on what it wrote (how far an export part reached): `write`
   * returns the progress, recorded in the same transaction.
   */
  checkpointAfter(write: (writes: JobWrites) => Promise<string>): Promise<void>;
}

/** A kind of job and the code that runs it; returns the result (JSON text) kept with the finished job. */
export interface JobHandler {
  readonly kind: string;
  run(job: RunningJob, db: Database): Promise<string>;
}

/** The job is no longer this process's: cancelled, taken over, or the runner is stopping. */
export class JobLostError extends Error {}

/**
 * A job queued once per period (the plan-review and assessment-due reminders): every process
 * offers it with the id `<kind>@<period start>`, so one job per period exists however many
 * processes run, and one of them claims it. Its input is the period start (ISO instant).
 */
export interface RecurringJob {
  readonly kind: string;
  readonly everyMs: number;
}

export interface JobRunnerOptions {
  /** How long to wait for work when the queue is empty. */
  readonly pollMs: number;
  /** How long a claim holds without a heartbeat; a process that died frees its jobs after it. */
  readonly leaseMs: number;
  /** How long a finished job's output is kept. */
  readonly retentionMs: number;
  readonly logger: Logger;
  readonly recurring?: readonly RecurringJob[];
}

const EXPIRY_SWEEP_MS = 60_000;

/**
 * Runs jobs kept in the database, one at a time per process, for the kinds it has handlers for.
 * Generic: a job kind is a handler (Bulk Data export today, subscription delivery next). Several
 * processes on one PostgreSQL share the queue (claims skip locked rows); a job survives a restart
 * (claimed again when its lease runs out, or at once when its process stopped cleanly) and resumes
 * from its last checkpoint; deleting a job cancels it at its next checkpoint.
 */
export class JobRunner {
  private readonly db: Database;
  private readonly handlers: ReadonlyMap<string, JobHandler>;
  private readonly options: JobRunnerOptions;
  readonly worker = `worker-${randomUUID()}`;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private current: AbortController | undefined;
  private lastSweep = 0;
  private readonly lastOffered = new Map<string, number>();

  constructor(db: Database, handlers: readonly JobHandler[], options: JobRunnerOptions) {
    this.db = db;
    this.handlers = new Map(handlers.map((handler) => [handler.kind, handler]));
    this.options = options;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Looks for work now (a job was just queued) instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops after giving the current job back to the queue (the next process resumes it from its checkpoint). */
  async stop(): Promise<void> {
    this.running = false;
    this.current?.abort();
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        await this.sweepExpired();
        await this.offerRecurring();
        const job = await claimJob(this.db, [...this.handlers.keys()], this.worker, this.options.leaseMs);
        if (job) {
          worked = true;
          await this.runJob(job);
        }
      } catch (err) {
        this.options.logger.error({ err }, 'job runner: claiming or finishing a job failed');
      }
      if (!worked && this.running) await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private async sweepExpired(): Promise<void> {
    if (Date.now() - this.lastSweep < EXPIRY_SWEEP_MS) return;
    this.lastSweep = Date.now();
    const removed = await deleteExpiredJobs(this.db);
    if (removed) this.options.logger.info({ removed }, 'expired job output removed');
  }

  /** Queues each recurring job for the current period, at most once per period from this process. */
  async offerRecurring(now = Date.now()): Promise<void> {
    for (const { kind, everyMs } of this.options.recurring ?? []) {
      const period = Math.floor(now / everyMs) * everyMs;
      if (this.lastOffered.get(kind) === period) continue;
      const at = new Date(period).toISOString();
      if (await insertJobOnce(this.db, { id: `${kind}@${at}`, kind, input: JSON.stringify({ at }) })) this.options.logger.info({ kind, at }, 'recurring job queued');
      this.lastOffered.set(kind, period);
    }
  }

  private async runJob(job: StoredJob): Promise<void> {
    const handler = this.handlers.get(job.kind) as JobHandler;
    const controller = new AbortController();
    this.current = controller;
    const { leaseMs, logger } = this.options;
    // Heartbeat between checkpoints, so a slow batch does not lose the lease.
    const heartbeat = setInterval(() => {
      renewLease(this.db, job.id, this.worker, leaseMs).then(
        (mine) => mine || controller.abort(),
        () => undefined,
      );
    }, Math.max(10, Math.floor(leaseMs / 3)));
    const running: RunningJob = {
      id: job.id,
      input: job.input,
      progress: job.progress,
      signal: controller.signal,
      checkpoint: (progress, write) => this.checkpoint(job.id, controller, progress, write),
      checkpointAfter: (write) => this.checkpoint(job.id, controller, undefined, write),
    };
    try {
      const result = await handler.run(running, this.db);
      await finishJob(this.db, job.id, this.worker, { status: 'completed', result }, new Date(Date.now() + this.options.retentionMs));
      logger.info({ job: job.id, kind: job.kind }, 'job completed');
    } catch (err) {
      if (err instanceof JobLostError || controller.signal.aborted) {
        if (!this.running) await releaseJob(this.db, job.id, this.worker).catch(() => undefined);
        logger.info({ job: job.id, kind: job.kind, reason: (err as Error).message }, 'job stopped');
      } else {
        logger.error({ err, job: job.id, kind: job.kind }, 'job failed');
        await finishJob(this.db, job.id, this.worker, { status: 'failed', error: (err as Error).message }, new Date(Date.now() + this.options.retentionMs));
      }
    } finally {
      clearInterval(heartbeat);
      this.current = undefined;
    }
  }

  private async checkpoint(id: string, controller: AbortController, progress: string | undefined, write?: (writes: JobWrites) => Promise<string | void>): Promise<void> {
    // The embedded database answers statements without going back to the event loop (PGlite runs
    // in this thread), so a job awaiting only statements would hold off every request, timer and
    // stop until it ended: each checkpoint first lets waiting I/O run.
    await setImmediate();
    if (controller.signal.aborted) throw new JobLostError(this.running ? 'cancelled or taken over' : 'the runner is stopping');
    await this.db.transaction(async (tx: SqlExecutor) => {
      // The lease first: it locks the job row, so a cancellation either happened before (and
      // nothing is written) or waits for this checkpoint to commit.
      if (!(await renewLease(tx, id, this.worker, this.options.leaseMs, progress))) {
        controller.abort();
        throw new JobLostError('cancelled or taken over');
      }
      const after = await write?.({ appendOutput: (part) => insertJobOutput(tx, id, part), appendOutputFrom: (part, rows) => insertJobOutputFrom(tx, id, part, rows) });
      if (typeof after === 'string') await setJobProgress(tx, id, after);
    });
  }
}
