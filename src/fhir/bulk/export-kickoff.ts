import { randomUUID } from 'node:crypto';
import { KANSAS_CANONICAL_BASE } from '../../conformance/kansas-package.ts';
import { insertJob } from '../../store/job-store.ts';
import { takeTransactionPoint } from '../../store/transaction-points.ts';
import type { FhirContext } from '../context.ts';
import type { OperationCall, PackagedOperationHandler } from '../operations/operation.ts';
import type { FhirResponse } from '../request.ts';
import { BULK_EXPORT_JOB, exportRequestOf } from './export-request.ts';

/** The access token's caller, as the job records it: only they may poll, cancel and download. */
export function requesterOf(ctx: FhirContext): string {
  return `${ctx.access.clientId ?? ''}|${ctx.access.subject}`;
}

/**
 * Bulk Data kick-off (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-kick-off-request):
 * checks the request and the caller's scopes, fixes the transaction point the export reads as of,
 * queues the job in the database and answers 202 with the status URL in Content-Location. The job
 * runner of any process on the database runs it.
 */
async function kickOff(ctx: FhirContext, call: OperationCall): Promise<FhirResponse> {
  const input = await exportRequestOf(ctx, call, () => takeTransactionPoint(ctx.repo.db));
  // Filters that the search parameters cannot answer are the client's error: found now, not in the job.
  for (const [resourceType, filters] of Object.entries(input.filters)) {
    await ctx.search.exportBatch(ctx.repo, { resourceType, point: input.point.tx, filters, limit: 0 });
  }
  const id = randomUUID();
  await insertJob(ctx.repo.db, { id, kind: BULK_EXPORT_JOB, input: JSON.stringify(input), requester: requesterOf(ctx) });
  ctx.jobs?.wake();
  return {
    status: 202,
    headers: { 'Content-Location': `${ctx.config.baseUrl}/_export/${id}` },
    resource: {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', diagnostics: `Export queued; poll ${ctx.config.baseUrl}/_export/${id} for its status.` }, ...input.issues],
    },
  };
}

/** `GET|POST [base]/$export` — definition: profiles/input/OperationDefinition-export.json. */
export const systemExportOperation: PackagedOperationHandler = { url: `${KANSAS_CANONICAL_BASE}/OperationDefinition/export`, checksOwnAccess: true, handle: kickOff };
/** `GET|POST [base]/Patient/$export` — profiles/input/OperationDefinition-Patient-export.json. */
export const patientExportOperation: PackagedOperationHandler = { url: `${KANSAS_CANONICAL_BASE}/OperationDefinition/Patient-export`, handle: kickOff };
/** `GET|POST [base]/Group/{id}/$export` — profiles/input/OperationDefinition-Group-export.json. */
export const groupExportOperation: PackagedOperationHandler = { url: `${KANSAS_CANONICAL_BASE}/OperationDefinition/Group-export`, handle: kickOff };
