import type { JobHandler } from '../../jobs/job-runner.ts';
import type { FhirContext } from '../context.ts';
import { BULK_EXPORT_JOB, type ExportJobInput } from './export-request.ts';

/** Where an export stands: the type being written (its index is its file number), the last id written, the next part. */
interface ExportProgress {
  readonly typeIndex: number;
  readonly afterId?: string;
  readonly part: number;
  /** Resources written so far, all types (X-Progress). */
  readonly exported: number;
}

export function exportProgressOf(progress: string | undefined): ExportProgress {
  return progress ? (JSON.parse(progress) as ExportProgress) : { typeIndex: 0, part: 0, exported: 0 };
}

/**
 * Runs a Bulk Data export (https://hl7.org/fhir/uv/bulkdata/STU2/export.html): for each type, batches
 * of resources as of the export's transaction point, in id order, each written as one NDJSON part
 * of the type's file together with the checkpoint after it — so a resumed export (restart, another
 * process) continues after the last part and never writes one twice, and memory holds one batch.
 */
export function bulkExportJob(ctx: FhirContext): JobHandler {
  return {
    kind: BULK_EXPORT_JOB,
    async run(job) {
      const input = JSON.parse(job.input) as ExportJobInput;
      let progress = exportProgressOf(job.progress);
      const batchSize = ctx.config.bulkExport.batchSize;
      while (progress.typeIndex < input.types.length) {
        const resourceType = input.types[progress.typeIndex];
        const rows = await ctx.search.exportBatch(ctx.repo, {
          resourceType,
          point: input.point.tx,
          since: input.since,
          patients: input.patients ?? (input.level === 'patient' ? 'any' : undefined),
          filters: input.filters[resourceType],
          afterId: progress.afterId,
          limit: batchSize,
        });
        const done = rows.length < batchSize;
        const next: ExportProgress = done
          ? { typeIndex: progress.typeIndex + 1, part: 0, exported: progress.exported + rows.length }
          : { typeIndex: progress.typeIndex, afterId: rows[rows.length - 1].id, part: progress.part + 1, exported: progress.exported + rows.length };
        const part = progress.part;
        const last = done && next.typeIndex === input.types.length;
        await job.checkpoint(JSON.stringify(next), async (writes) => {
          if (rows.length > 0) {
            const content = `${rows.map((row) => row.content).join('\n')}\n`;
            await writes.appendOutput({ fileNo: progress.typeIndex, part, kind: 'output', resourceType, lines: rows.length, content });
          }
          // What was asked for and not exported, with the last part: the error file follows the types' files.
          if (last && input.errors?.length) {
            const content = `${input.errors.map((issue) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [issue] })).join('\n')}\n`;
            await writes.appendOutput({ fileNo: input.types.length, part: 0, kind: 'error', resourceType: 'OperationOutcome', lines: input.errors.length, content });
          }
        });
        progress = next;
      }
      return JSON.stringify({ exported: progress.exported });
    },
  };
}
