import { loadConfig, type Config } from '../config.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';

/**
 * Runs `work` on the configured database (DATABASE_URL, or the embedded one in DATA_DIR, which
 * must not be open in a running server), migrated first; closes it afterwards. For the commands
 * that manage the authorization server's registry (client, user, launch).
 */
export async function withLocalDatabase<T>(work: (db: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersBytes: config.embeddedSharedBuffersBytes });
  try {
    await migrate(db);
    return await work(db, config);
  } finally {
    await db.close();
  }
}
