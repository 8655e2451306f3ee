import type { Database, SqlExecutor, SqlStatement } from './database.ts';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

/** A job as stored: JSON columns still text, parsed by the job's handler. */
export interface StoredJob {
  readonly id: string;
  readonly kind: string;
  readonly status: JobStatus;
  readonly input: string;
  readonly requester: string | undefined;
  readonly progress: string | undefined;
  readonly result: string | undefined;
  readonly error: string | undefined;
  readonly attempts: number;
  readonly createdAt: string;
  readonly finishedAt: string | undefined;
  readonly expiresAt: string | undefined;
}

interface JobRow {
  id: string;
  kind: string;
  status: JobStatus;
  input: string;
  requester: string | null;
  progress: string | null;
  result: string | null;
  error: string | null;
  attempts: number;
  created_at: string | Date;
  finished_at: string | Date | null;
  expires_at: string | Date | null;
}

const JOB_COLUMNS = 'id, kind, status, input, requester, progress, result, error, attempts, created_at, finished_at, expires_at';

const iso = (value: string | Date | null): string | undefined => (value === null ? undefined : new Date(value).toISOString());

function toJob(row: JobRow): StoredJob {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    input: row.input,
    requester: row.requester ?? undefined,
    progress: row.progress ?? undefined,
    result: row.result ?? undefined,
    error: row.error ?? undefined,
    attempts: Number(row.attempts),
    createdAt: iso(row.created_at) as string,
    finishedAt: iso(row.finished_at),
    expiresAt: iso(row.expires_at),
  };
}

export async function insertJob(db: SqlExecutor, job: { id: string; kind: string; input: string; requester?: string }): Promise<void> {
  await db.query('INSERT INTO job (id, kind, status, input, requester) VALUES ($1, $2, $3, $4, $5)', [job.id, job.kind, 'queued', job.input, job.requester ?? null]);
}

/**
 * Queues a job under an id several processes agree on (a recurring job's period): only the first
 * insert counts, the others find the row there; true when this call queued it.
 */
export async function insertJobOnce(db: SqlExecutor, job: { id: string; kind: string; input: string }): Promise<boolean> {
  const rows = await db.query('INSERT INTO job (id, kind, status, input) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id', [job.id, job.kind, 'queued', job.input]);
  return rows.length > 0;
}

export async function readJob(db: SqlExecutor, id: string): Promise<StoredJob | undefined> {
  const [row] = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM job WHERE id = $1`, [id]);
  return row && toJob(row);
}

/**
 * Claims the oldest job of `kinds` that is queued or whose lease has run out (its process died or
 * restarted), for `worker` until now + `leaseMs`. Several processes on one PostgreSQL claim
 * different jobs: a row another claim has locked is skipped, not waited for
 * (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE, SKIP LOCKED).
 */
export async function claimJob(db: SqlExecutor, kinds: readonly string[], worker: string, leaseMs: number): Promise<StoredJob | undefined> {
  const [row] = await db.query<JobRow>(
    `UPDATE job SET status = 'running', worker = $2, lease_until = now() + $3 * interval '1 millisecond', attempts = attempts + 1, updated_at = now()
     WHERE id = (SELECT id FROM job WHERE kind = ANY($1::text[])
                 AND (status = 'queued' OR (status = 'running' AND lease_until < now()))
                 ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING ${JOB_COLUMNS}`,
    [kinds, worker, leaseMs],
  );
  return row && toJob(row);
}

/**
 * Renews `worker`'s lease and, when given, records the checkpoint; false when the job is no longer
 * this worker's: cancelled (deleted), or its lease ran out and another process claimed it. Run in
 * the transaction that writes what the checkpoint covers, so both commit together or not at all.
 */
export async function renewLease(tx: SqlExecutor, id: string, worker: string, leaseMs: number, progress?: string): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE job SET lease_until = now() + $3 * interval '1 millisecond', updated_at = now(), progress = COALESCE($4, progress)
     WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING id`,
    [id, worker, leaseMs, progress ?? null],
  );
  return rows.length > 0;
}

/** Records a running job's progress (in a checkpoint's transaction, after renewLease has locked the row). */
export async function setJobProgress(tx: SqlExecutor, id: string, progress: string): Promise<void> {
  await tx.query('UPDATE job SET progress = $2 WHERE id = $1', [id, progress]);
}

/** Ends the job as completed or failed (only if it is still `worker`'s); its output expires at `expiresAt`. */
export async function finishJob(
  db: SqlExecutor,
  id: string,
  worker: string,
  outcome: { status: 'completed'; result: string } | { status: 'failed'; error: string },
  expiresAt: Date,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE job SET status = $3, result = $4, error = $5, finished_at = now(), updated_at = now(), lease_until = NULL, expires_at = $6
     WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING id`,
    [id, worker, outcome.status, outcome.status === 'completed' ? outcome.result : null, outcome.status === 'failed' ? outcome.error : null, expiresAt.toISOString()],
  );
  return rows.length > 0;
}

/** Cancels (or removes) a job with its output; false when there was none. */
export async function deleteJob(db: SqlExecutor, id: string): Promise<boolean> {
  return (await db.query('DELETE FROM job WHERE id = $1 RETURNING id', [id])).length > 0;
}

/** Removes finished jobs whose output has expired, with their output; returns how many. */
export async function deleteExpiredJobs(db: SqlExecutor): Promise<number> {
  return (await db.query('DELETE FROM job WHERE expires_at < now() RETURNING id')).length;
}

/** One part of a job's output file, written in a checkpoint's transaction. */
export interface JobOutputPart {
  readonly fileNo: number;
  readonly part: number;
  readonly kind: string;
  readonly resourceType: string;
  readonly lines: number;
  readonly content: string;
}

export async function insertJobOutput(tx: SqlExecutor, jobId: string, part: JobOutputPart): Promise<void> {
  await tx.query(
    'INSERT INTO job_output (job_id, file_no, part, kind, resource_type, lines, content) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [jobId, part.fileNo, part.part, part.kind, part.resourceType, part.lines, part.content],
  );
}

/** The files of a job: number, kind, resource type and line count, in file order. */
/**
 * Writes one output part from a statement yielding `id` and `content` in id order (an export
 * batch, search/export-batch.ts): the NDJSON is assembled by `string_agg` in the database, so the
 * rows never travel to the server and back. Writes nothing when the statement yields no row.
 * Answers how many lines were written and the last id, where the next part continues.
 */
export async function insertJobOutputFrom(
  tx: SqlExecutor,
  jobId: string,
  part: Omit<JobOutputPart, 'lines' | 'content'>,
  rows: SqlStatement,
): Promise<{ lines: number; lastId?: string }> {
  const at = (i: number): string => `$${rows.params.length + i}`;
  const [written] = await tx.query<{ lines: string; last_id: string | null }>(
    `WITH batch AS MATERIALIZED (${rows.sql}),
     part AS (
       INSERT INTO job_output (job_id, file_no, part, kind, resource_type, lines, content)
       SELECT ${at(1)}, ${at(2)}, ${at(3)}, ${at(4)}, ${at(5)}, count(*), string_agg(content, E'\n' ORDER BY id) || E'\n'
       FROM batch HAVING count(*) > 0
       RETURNING lines)
     SELECT (SELECT count(*) FROM batch) AS lines, (SELECT id FROM batch ORDER BY id DESC LIMIT 1) AS last_id`,
    [...rows.params, jobId, part.fileNo, part.part, part.kind, part.resourceType],
  );
  return { lines: Number(written.lines), ...(written.last_id !== null ? { lastId: written.last_id } : {}) };
}

export async function listJobFiles(db: SqlExecutor, jobId: string): Promise<{ fileNo: number; kind: string; resourceType: string; lines: number }[]> {
  const rows = await db.query<{ file_no: number; kind: string; resource_type: string; lines: string }>(
    'SELECT file_no, min(kind) AS kind, min(resource_type) AS resource_type, sum(lines) AS lines FROM job_output WHERE job_id = $1 GROUP BY file_no ORDER BY file_no',
    [jobId],
  );
  return rows.map((row) => ({ fileNo: Number(row.file_no), kind: row.kind, resourceType: row.resource_type, lines: Number(row.lines) }));
}

/**
 * The parts of one output file in order, one statement per part: a download holds one part in
 * memory at a time however large the file is.
 */
export async function* readJobFile(db: Database, jobId: string, fileNo: number): AsyncGenerator<string> {
  let part = -1;
  for (;;) {
    const [row] = await db.query<{ part: number; content: string }>(
      'SELECT part, content FROM job_output WHERE job_id = $1 AND file_no = $2 AND part > $3 ORDER BY part LIMIT 1',
      [jobId, fileNo, part],
    );
    if (!row) return;
    part = Number(row.part);
    yield row.content;
  }
}

/** Gives a job back to the queue at once (a process stopping cleanly), so the next process need not wait out the lease. */
export async function releaseJob(db: SqlExecutor, id: string, worker: string): Promise<void> {
  await db.query("UPDATE job SET status = 'queued', worker = NULL, lease_until = NULL, updated_at = now() WHERE id = $1 AND worker = $2 AND status = 'running'", [id, worker]);
}
