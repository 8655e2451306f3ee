import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reindexCommand } from '../../src/cli/reindex.ts';
import { createSearchIndexParticipant } from '../../src/search/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { conformance } from '../search/db.ts';
import { makeStale, staleCount } from '../search/stale-index.ts';
import { captureIo, runKanplan } from './command-io.ts';

describe('kanplan reindex', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(`${tmpdir()}/kanplan-reindex-`);
    const db = await openDatabase({ dataDir });
    try {
      await migrate(db);
      const repo = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: 'http://localhost:8080/fhir' })] });
      for (let i = 0; i < 5; i++) {
        await repo.update({ resourceType: 'Patient', id: `cli-${i}`, gender: 'female' });
      }
      await makeStale(db, 'Patient');
    } finally {
      await db.close();
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('rejects bad arguments with exit code 2 before opening the database', async () => {
    for (const args of [['--batch', 'zero'], ['--batch', '0'], ['--everything'], ['--batch']]) {
      const capture = captureIo();
      expect(await reindexCommand.run(args, capture.io)).toBe(2);
      expect(capture.err()).toContain('Usage: kanplan reindex [--all] [--batch N] [--quiet]');
    }
  });

  it('shows progress, reports what it did, and finds nothing left on a second run', async () => {
    const env = { DATA_DIR: dataDir, DATABASE_URL: '', BASE_URL: 'http://localhost:8080/fhir' };
    // stderr is a pipe here, not a terminal: plain progress lines.
    const first = runKanplan(['reindex', '--batch', '2'], env);
    expect(first.stderr).toContain('0/5 resources (0%)\n2/5 resources (40%)\n4/5 resources (80%)\n5/5 resources (100%)\n');
    expect(first.stderr).toContain(`Reindexed 5 resources with search parameters ${conformance.searchParameters.fingerprint}.`);
    expect(first.status).toBe(0);
    const second = runKanplan(['reindex', '--quiet'], env);
    expect(second.status).toBe(0);
    expect(second.stderr).toBe(`Reindexed 0 resources with search parameters ${conformance.searchParameters.fingerprint}.\n`);
    const db = await openDatabase({ dataDir });
    try {
      expect(await staleCount(db)).toBe(0);
      const rows = await db.query<{ n: string | number }>("SELECT count(*) AS n FROM sp_token WHERE resource_type = 'Patient' AND code = 'gender'");
      expect(Number(rows[0].n)).toBe(5);
    } finally {
      await db.close();
    }
    // Two processes, each opening the embedded database.
  }, 180_000);
});
