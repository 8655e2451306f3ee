import { deleteJob, listJobFiles, readJob, readJobFile, type StoredJob } from '../../store/job-store.ts';
import { FhirError, notFound } from '../../outcomes.ts';
import type { FhirContext } from '../context.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { exportProgressOf } from './export-job.ts';
import { requesterOf } from './export-kickoff.ts';
import { BULK_EXPORT_JOB, type ExportJobInput } from './export-request.ts';

/** Seconds a client should wait before polling again (Retry-After). */
const RETRY_AFTER_SECONDS = 2;

/**
 * The caller's export, or 404: another client's export is as invisible as a missing one
 * (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-status-request: files are limited to
 * the client that requested them).
 */
async function exportOf(ctx: FhirContext, id: string): Promise<StoredJob> {
  const job = await readJob(ctx.repo.db, id);
  if (!job || job.kind !== BULK_EXPORT_JOB || job.requester !== requesterOf(ctx)) {
    throw notFound(`No export ${id} of this client: it was cancelled, has expired (files are kept ${ctx.config.bulkExport.retentionMs / 3_600_000} h), or belongs to another client.`);
  }
  return job;
}

function fileUrl(ctx: FhirContext, id: string, fileNo: number): string {
  return `${ctx.config.baseUrl}/_export/${id}/${fileNo}.ndjson`;
}

/** The complete export's manifest (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#response---complete-status). */
async function manifest(ctx: FhirContext, job: StoredJob): Promise<FhirResponse> {
  const input = JSON.parse(job.input) as ExportJobInput;
  const files = await listJobFiles(ctx.repo.db, job.id);
  const body = {
    transactionTime: input.point.at,
    request: input.request,
    requiresAccessToken: true,
    output: files.filter((f) => f.kind === 'output').map((f) => ({ type: f.resourceType, url: fileUrl(ctx, job.id, f.fileNo), count: f.lines })),
    error: files.filter((f) => f.kind === 'error').map((f) => ({ type: 'OperationOutcome', url: fileUrl(ctx, job.id, f.fileNo), count: f.lines })),
  };
  const headers: Record<string, string> = job.expiresAt ? { Expires: new Date(job.expiresAt).toUTCString() } : {};
  return { status: 200, headers, raw: { contentType: 'application/json', body: JSON.stringify(body) } };
}

/** `GET [base]/_export/{id}`: 202 with X-Progress while it runs, the manifest when complete; `DELETE` cancels and removes the files. */
export async function handleExportStatus(ctx: FhirContext, request: FhirRequest, id: string): Promise<FhirResponse> {
  const job = await exportOf(ctx, id);
  if (request.method === 'DELETE') {
    await deleteJob(ctx.repo.db, id);
    return { status: 202, resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: `Export ${id} cancelled; its files are removed.` }] } };
  }
  if (job.status === 'completed') return manifest(ctx, job);
  if (job.status === 'failed') {
    throw new FhirError(500, [{ severity: 'error', code: 'exception', diagnostics: `Export ${id} failed: ${job.error ?? 'unknown error'}. Start a new export; the server log has the details.` }]);
  }
  const input = JSON.parse(job.input) as ExportJobInput;
  const progress = exportProgressOf(job.progress);
  const state = job.status === 'queued' && progress.exported === 0 ? 'queued' : `type ${Math.min(progress.typeIndex + 1, input.types.length)} of ${input.types.length}, ${progress.exported} resources written`;
  return { status: 202, headers: { 'X-Progress': state, 'Retry-After': String(RETRY_AFTER_SECONDS) } };
}

/** `GET [base]/_export/{id}/{n}.ndjson`: one output file, streamed part by part from the database (any process serves it). */
export async function handleExportFile(ctx: FhirContext, id: string, fileName: string): Promise<FhirResponse> {
  const job = await exportOf(ctx, id);
  const fileNo = /^(\d+)\.ndjson$/.exec(fileName)?.[1];
  const files = job.status === 'completed' ? await listJobFiles(ctx.repo.db, id) : [];
  if (fileNo === undefined || !files.some((f) => f.fileNo === Number(fileNo))) {
    throw notFound(`Export ${id} has no file ${fileName}; the manifest (GET ${ctx.config.baseUrl}/_export/${id}) lists its files.`);
  }
  return { status: 200, stream: { contentType: 'application/fhir+ndjson', body: readJobFile(ctx.repo.db, id, Number(fileNo)) } };
}
