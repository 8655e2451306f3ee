import { loadConfig } from '../config.ts';
import { loadConformance } from '../conformance/conformance.ts';
import { reindex } from '../search/reindex.ts';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { UsageError, defineCommand } from './command.ts';
import { createProgressDisplay, quietOption } from './progress.ts';

/**
 * `kanplan reindex`: opens the configured database (DATABASE_URL or DATA_DIR), applies pending
 * migrations and rebuilds stale index rows (see `reindex` in src/search/reindex.ts for why the
 * server may stay up and an interrupted run resumes), with progress on stderr.
 */
export const reindexCommand = defineCommand({
  name: 'reindex',
  summary: 'Rebuild search-index rows written with other SearchParameters (resumable; the server may stay up)',
  options: {
    all: { type: 'boolean', description: "Rebuild every resource's index rows, not only the stale ones" },
    batch: { type: 'string', placeholder: 'N', default: '500', description: 'Resources per transaction' },
    quiet: quietOption,
  },
  async run({ values }, io) {
    const batchSize = Number(values.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new UsageError('--batch takes a positive whole number.');
    }
    const config = loadConfig();
    const { searchParameters } = loadConformance();
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersBytes: config.embeddedSharedBuffersBytes });
    const progress = createProgressDisplay(io.stderr, { unit: 'resources', quiet: values.quiet });
    let done: number;
    try {
      await migrate(db);
      done = await reindex(db, searchParameters, { batchSize, all: values.all, baseUrl: config.baseUrl, onProgress: (p) => progress.update(p.done, p.total) });
    } finally {
      progress.end();
      await db.close();
    }
    io.stderr.write(`Reindexed ${done} resources with search parameters ${searchParameters.fingerprint}.\n`);
    return 0;
  },
});
