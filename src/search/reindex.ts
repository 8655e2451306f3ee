import type { Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../config.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { forgetCombinationIndexState } from './combination-index.ts';
import { writeIndexRows } from './index-writer.ts';
import { searchFingerprint } from './parameters.ts';

export interface ReindexProgress {
  readonly done: number;
  readonly total: number;
}

/**
 * Rebuilds the index rows of every current resource whose `index_hash` differs from the current
 * search-parameter fingerprint, in batches of one transaction each. Each batch takes its rows
 * with `FOR UPDATE SKIP LOCKED` and re-checks the hash, so a concurrent write (which indexes with
 * the current parameters itself) is never overwritten, the server can stay up, and an interrupted
 * run resumes where it stopped: finished rows already carry the new fingerprint.
 */
export async function reindex(
  db: Database,
  options: { batchSize?: number; all?: boolean; baseUrl?: string; onProgress?: (p: ReindexProgress) => void } = {},
): Promise<number> {
  const fingerprint = searchFingerprint();
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
        await writeIndexRows(tx, { ...resource, resourceType: row.resource_type, id: row.id } as Resource & { id: string }, true, { baseUrl: options.baseUrl });
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

function progressBar(p: ReindexProgress): string {
  const width = 30;
  const ratio = p.total ? Math.min(p.done / p.total, 1) : 1;
  const filled = Math.round(ratio * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} resources (${Math.round(ratio * 100)}%)`;
}

export const REINDEX_USAGE = 'kanplan reindex [--all] [--batch N]';

/**
 * `kanplan reindex`: opens the configured database (DATABASE_URL or DATA_DIR), applies pending
 * migrations and rebuilds stale index rows with a progress bar on stderr. Returns the exit code.
 */
export async function runReindexCommand(args: string[]): Promise<number> {
  const batchFlag = args.indexOf('--batch');
  const batchSize = batchFlag >= 0 ? Number(args[batchFlag + 1]) : 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    process.stderr.write(`--batch takes a positive whole number.\nUsage: ${REINDEX_USAGE}\n`);
    return 2;
  }
  const unknown = args.filter((a, i) => a !== '--all' && a !== '--batch' && !(i > 0 && args[i - 1] === '--batch'));
  if (unknown.length) {
    process.stderr.write(`Unknown argument ${unknown[0]}.\nUsage: ${REINDEX_USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersBytes: config.embeddedSharedBuffersBytes });
  try {
    await migrate(db);
    const done = await reindex(db, {
      batchSize,
      all: args.includes('--all'),
      baseUrl: config.baseUrl,
      onProgress: (p) => process.stderr.write(progressBar(p)),
    });
    process.stderr.write(`\nReindexed ${done} resources with search parameters ${searchFingerprint()}.\n`);
    return 0;
  } finally {
    await db.close();
  }
}
