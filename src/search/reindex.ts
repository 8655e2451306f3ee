import type { Resource } from '@medplum/fhirtypes';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import type { Database } from '../store/database.ts';
import { forgetCombinationIndexState } from './combination-index.ts';
import { writeIndexRows } from './index-writer.ts';

export interface ReindexProgress {
  readonly done: number;
  readonly total: number;
}

/**
 * Rebuilds the index rows of every current resource whose `index_hash` differs from the
 * fingerprint of `parameters`, in batches of one transaction each. Each batch takes its rows
 * with `FOR UPDATE SKIP LOCKED` and re-checks the hash, so a concurrent write (which indexes with
 * the current parameters itself) is never overwritten, the server can stay up, and an interrupted
 * run resumes where it stopped: finished rows already carry the new fingerprint.
 */
export async function reindex(
  db: Database,
  parameters: SearchParameterRegistry,
  options: { batchSize?: number; all?: boolean; baseUrl?: string; onProgress?: (p: ReindexProgress) => void } = {},
): Promise<number> {
  const fingerprint = parameters.fingerprint;
  const batchSize = options.batchSize ?? 500;
  if (options.all) {
    await db.query('UPDATE resource SET index_hash = NULL WHERE NOT deleted');
  }
  const [{ n }] = await db.query<{ n: string | number }>(
    'SELECT count(*) AS n FROM resource WHERE NOT deleted AND index_hash IS DISTINCT FROM $1',
    [fingerprint],
  );
  const total = Number(n);
  let done = 0;
  options.onProgress?.({ done, total });
  for (;;) {
    const count = await db.transaction(async (tx) => {
      const rows = await tx.query<{ resource_type: string; id: string; content: string }>(
        `SELECT resource_type, id, content FROM resource
         WHERE NOT deleted AND index_hash IS DISTINCT FROM $1
         ORDER BY index_hash NULLS FIRST, resource_type, id
         LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [fingerprint, batchSize],
      );
      for (const row of rows) {
        const resource = JSON.parse(row.content) as Resource;
        await writeIndexRows(tx, parameters, { ...resource, resourceType: row.resource_type, id: row.id } as Resource & { id: string }, true, { baseUrl: options.baseUrl });
      }
      if (rows.length) {
        await tx.query(
          `UPDATE resource r SET index_hash = $1
           FROM unnest($2::text[], $3::text[]) AS k(resource_type, id)
           WHERE r.resource_type = k.resource_type AND r.id = k.id`,
          [fingerprint, rows.map((r) => r.resource_type), rows.map((r) => r.id)],
        );
      }
      return rows.length;
    });
    if (!count) {
      break;
    }
    done += count;
    options.onProgress?.({ done, total: Math.max(total, done) });
  }
  // Searches in this process may use combination indexes now rather than after the recheck delay.
  forgetCombinationIndexState(db);
  return done;
}
