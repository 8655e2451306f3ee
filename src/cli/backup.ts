import path from 'node:path';
import { loadConfig } from '../config.ts';
import { backupPglite, restorePglite } from '../store/pglite.ts';
import { UsageError, defineCommand } from './command.ts';

const POSTGRES_ADVICE = 'DATABASE_URL is set: back up PostgreSQL with pg_dump or point-in-time recovery (README "Running in production").';

/** `kanplan backup FILE`: the embedded database (DATA_DIR) as one file, taken with the server stopped. */
export const backupCommand = defineCommand({
  name: 'backup',
  summary: 'Copy the embedded database (DATA_DIR) to one file; stop the server first',
  description: 'For PostgreSQL use pg_dump or point-in-time recovery instead. Exit codes: 0 written, 1 failed, 2 misused.',
  operands: { placeholder: 'FILE', description: 'Where to write the backup (a .tar.gz)', required: true },
  options: {},
  async run({ operands }, io) {
    if (operands.length !== 1) throw new UsageError('Name one backup FILE.');
    const config = loadConfig();
    if (config.databaseUrl) throw new UsageError(POSTGRES_ADVICE);
    const bytes = await backupPglite(config.dataDir, path.resolve(operands[0]));
    io.stderr.write(`Backed up ${config.dataDir} to ${operands[0]} (${bytes} bytes).\n`);
    return 0;
  },
});

/** `kanplan restore FILE`: a backup into an empty DATA_DIR. */
export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'Restore a backup made by kanplan backup into an empty DATA_DIR',
  description: 'Run kanplan check afterwards to verify version chains and search indexes. Exit codes: 0 restored, 1 failed, 2 misused.',
  operands: { placeholder: 'FILE', description: 'A backup written by kanplan backup', required: true },
  options: {},
  async run({ operands }, io) {
    if (operands.length !== 1) throw new UsageError('Name one backup FILE.');
    const config = loadConfig();
    if (config.databaseUrl) throw new UsageError(POSTGRES_ADVICE);
    await restorePglite(path.resolve(operands[0]), config.dataDir);
    io.stderr.write(`Restored ${operands[0]} into ${config.dataDir}.\n`);
    return 0;
  },
});
