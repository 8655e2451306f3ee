import type { JobHandler } from '../../jobs/job-runner.ts';
import type { AssociatedProvenance } from '../../search/index.ts';
import type { FhirContext } from '../context.ts';
import type { AssociatedData } from './associated-data.ts';
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

/** The Provenance file's `includeAssociatedData` part: the Provenance of the resources of every other exported type. */
function associatedProvenance(input: ExportJobInput, associated: AssociatedData): AssociatedProvenance {
  const of = input.types.filter((type) => type !== 'Provenance').map((resourceType) => ({ resourceType, filters: input.filters[resourceType] }));
  return { which: associated.which, of, asType: associated.asType };
}

/**
 * Runs a Bulk Data export (https://hl7.org/fhir/uv/bulkdata/STU2/export.html): for each type, batches
 * of resources as of the export's transaction point, in id order, each written as one NDJSON part
 * of the type's file together with the checkpoint after it — so a resumed export (restart, another
 * process) continues after the last part and never writes one twice. A part is assembled in the
 * database from the batch's statement (INSERT … SELECT): the server's memory holds no resource.
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
        const batch = ctx.search.exportBatchStatement({
          resourceType,
          point: input.point.tx,
          since: input.since,
          patients: input.patients ?? (input.level === 'patient' ? 'any' : undefined),
          filters: input.filters[resourceType],
          afterId: progress.afterId,
          limit: batchSize,
          ...(resourceType === 'Provenance' && input.associated ? { associated: associatedProvenance(input, input.associated) } : {}),
        });
        const at = progress;
        let next = at;
        await job.checkpointAfter(async (writes) => {
          // The part is written from the batch inside the database: no resource passes through this process.
          const { lines, lastId } = await writes.appendOutputFrom({ fileNo: at.typeIndex, part: at.part, kind: 'output', resourceType }, batch);
          const done = lines < batchSize;
          next = done
            ? { typeIndex: at.typeIndex + 1, part: 0, exported: at.exported + lines }
            : { typeIndex: at.typeIndex, afterId: lastId, part: at.part + 1, exported: at.exported + lines };
          // What was asked for and not exported, with the last part: the error file follows the types' files.
          if (next.typeIndex === input.types.length && input.errors?.length) {
            const content = `${input.errors.map((issue) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [issue] })).join('\n')}\n`;
            await writes.appendOutput({ fileNo: input.types.length, part: 0, kind: 'error', resourceType: 'OperationOutcome', lines: input.errors.length, content });
          }
          return JSON.stringify(next);
        });
        progress = next;
      }
      return JSON.stringify({ exported: progress.exported });
    },
  };
}
