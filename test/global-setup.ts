import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../src/store/database.ts';
import { listMigrations, migrate } from '../src/store/migrate.ts';
import { dumpPglite } from '../src/store/pglite.ts';
import { loadOrCreateSigningKey } from '../src/auth/signing-key.ts';
import { TEST_KEY_FILE } from './harness.ts';

export const TEMPLATE_DIR = path.resolve('.tmp/test-template');

/**
 * Builds, once per set of migrations, a migrated PGlite database and dumps it; every test file
 * then restores the dump into an in-memory PGlite (~1 s) instead of running initdb (~8 s).
 */
export default async function setup(): Promise<void> {
  const hash = createHash('sha256')
    .update(listMigrations().map((m) => m.sql).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const dumpFile = path.join(TEMPLATE_DIR, `pglite-${hash}.tar.gz`);
  process.env.KANPLAN_TEST_PGLITE_DUMP = dumpFile;
  // One signing key for all test files, made before they start (they would race to create it).
  await loadOrCreateSigningKey(TEST_KEY_FILE);
  if (fs.existsSync(dumpFile)) {
    return;
  }
  // Other test runs may be reading older dumps: build in a private folder, publish atomically.
  const dataDir = path.join(TEMPLATE_DIR, `build-${process.pid}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const db = await openDatabase({ dataDir });
  await migrate(db);
  await db.close();
  const dump = await dumpPglite(dataDir);
  const partial = `${dumpFile}.${process.pid}.partial`;
  fs.writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  fs.renameSync(partial, dumpFile);
  fs.rmSync(dataDir, { recursive: true, force: true });
}
