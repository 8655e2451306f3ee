import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server/server.ts';
import { openDatabase } from '../../src/store/database.ts';
import { pino } from 'pino';
import { runKanplan } from './command-io.ts';

describe('kanplan backup and restore (embedded database)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'kanplan-backup-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('round trip: what was written is there after restore into a new directory, and kanplan check passes on it', async () => {
    const dataDir = path.join(work, 'data');
    const config = loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, dataDir });
    const server = await startServer(config, { logger: pino({ level: 'silent' }) });
    const write = await fetch(`${server.url}/Patient/bk-1`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id: 'bk-1', name: [{ family: 'Backupson' }] }) });
    expect(write.status).toBe(201);
    // While the server runs the directory is locked: a backup would not be consistent.
    const busy = runKanplan(['backup', path.join(work, 'busy.tar.gz')], { DATA_DIR: dataDir, DATABASE_URL: '', BASE_URL: 'http://localhost:8080/fhir' });
    expect(busy.status).toBe(2);
    expect(busy.stderr).toContain('in use by process');
    await server.close();

    const file = path.join(work, 'kanplan.tar.gz');
    const backup = runKanplan(['backup', file], { DATA_DIR: dataDir, DATABASE_URL: '', BASE_URL: 'http://localhost:8080/fhir' });
    expect(backup.stderr).toMatch(/Backed up .* \(\d+ bytes\)/);
    expect(backup.status).toBe(0);
    const restoredDir = path.join(work, 'restored');
    expect(runKanplan(['restore', file], { DATA_DIR: restoredDir, DATABASE_URL: '', BASE_URL: 'http://localhost:8080/fhir' }).status).toBe(0);
    // Into a directory that holds a database: refused, nothing touched.
    const refused = runKanplan(['restore', file], { DATA_DIR: restoredDir, DATABASE_URL: '', BASE_URL: 'http://localhost:8080/fhir' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('is not empty');
    const check = runKanplan(['check'], { DATA_DIR: restoredDir, DATABASE_URL: '', BASE_URL: 'http://127.0.0.1:0/fhir' });
    expect(check.stderr).toContain('0 broken version chains, 0 index drifts');
    expect(check.status).toBe(0);
    const db = await openDatabase({ dataDir: restoredDir });
    try {
      const rows = await db.query<{ content: string; version_id: number }>("SELECT content, version_id FROM resource WHERE resource_type = 'Patient' AND id = 'bk-1'");
      expect(JSON.parse(rows[0].content).name[0].family).toBe('Backupson');
    } finally {
      await db.close();
    }
  }, 240_000);
});
