import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Bundle, CarePlan, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSearchIndexParticipant, reindex } from '../../src/search/index.ts';
import { searchFingerprint } from '../../src/search/parameters.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import type { Repository } from '../../src/store/repository.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';
import { openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, loadFixtures, matchIds, search } from './fixtures.ts';

/** Rows indexed by an "older parameter set": another fingerprint, and their token rows lost. */
async function makeStale(db: Database, resourceType: string): Promise<number> {
  await db.query('UPDATE resource SET index_hash = $1 WHERE resource_type = $2', ['old-parameters', resourceType]);
  await db.query('DELETE FROM sp_token WHERE resource_type = $1', [resourceType]);
  const [{ n }] = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM resource WHERE resource_type = $1 AND NOT deleted', [resourceType]);
  return Number(n);
}

async function staleCount(db: Database): Promise<number> {
  const [{ n }] = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM resource WHERE NOT deleted AND index_hash IS DISTINCT FROM $1', [searchFingerprint()]);
  return Number(n);
}

describe.each(searchTestDatabases)('kanplan reindex resumes on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    ({ db, repo, close } = t);
    await loadFixtures(repo);
  });
  afterAll(async () => close());

  it('an interrupted run keeps its finished batches and the next run does only the rest', async () => {
    const patients = await makeStale(db, 'Patient');
    expect(patients).toBe(3);
    const stop = new Error('interrupted');
    // Stopped after the first batch of 2 (as a killed process would be after a commit).
    await expect(
      reindex(db, { batchSize: 2, baseUrl: BASE, onProgress: (p) => { if (p.done > 0) throw stop; } }),
    ).rejects.toBe(stop);
    expect(await staleCount(db)).toBe(1);
    const progress: string[] = [];
    expect(await reindex(db, { batchSize: 2, baseUrl: BASE, onProgress: (p) => progress.push(`${p.done}/${p.total}`) })).toBe(1);
    expect(progress).toEqual(['0/1', '1/1']);
    expect(await staleCount(db)).toBe(0);
    expect(matchIds(await search(repo, 'Patient', [['gender', 'female,male']]))).toEqual(['p1', 'p2']);
  });
});

describe.each(testDatabases)('kanplan reindex beside the running server on %s', (kind) => {
  let server: TestServer;
  const ids: string[] = [];

  beforeAll(async () => {
    server = await startTestServer(kind);
    const patient = (await server.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Reindex' }] } satisfies Patient })) as Patient;
    for (let i = 0; i < 12; i++) {
      const plan = (await server.client.create({
        resourceType: 'CarePlan',
        body: { resourceType: 'CarePlan', status: 'draft', intent: 'plan', subject: { reference: `Patient/${patient.id}` } } satisfies CarePlan,
      })) as CarePlan;
      ids.push(plan.id as string);
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('rebuilds stale rows while clients keep writing and searching, losing no write', async () => {
    expect(await makeStale(server.db, 'CarePlan')).toBe(12);
    // Half the plans are activated over HTTP while the reindex runs in small batches.
    const writes = ids.slice(0, 6).map(async (id) => {
      const current = (await server.client.read({ resourceType: 'CarePlan', id })) as CarePlan;
      await server.client.update({ resourceType: 'CarePlan', id, body: { ...current, status: 'active' } });
      return (await http(server, 'GET', '/CarePlan?status=active&_summary=count')).status;
    });
    const [done, ...statuses] = await Promise.all([reindex(server.db, { batchSize: 2, baseUrl: server.url }), ...writes]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(done).toBeLessThanOrEqual(12);
    expect(await staleCount(server.db)).toBe(0);
    const active = (await http(server, 'GET', '/CarePlan?status=active&_count=100')).body as Bundle;
    expect((active.entry ?? []).map((e) => e.resource?.id).sort()).toEqual(ids.slice(0, 6).sort());
    const draft = (await http(server, 'GET', '/CarePlan?status=draft&_count=100')).body as Bundle;
    expect((draft.entry ?? []).map((e) => e.resource?.id).sort()).toEqual(ids.slice(6).sort());
    // Exactly one status row per plan: no rows of the old content left beside the new ones.
    const rows = await server.db.query<{ n: string | number }>("SELECT count(*) AS n FROM sp_token WHERE resource_type = 'CarePlan' AND code = 'status'");
    expect(Number(rows[0].n)).toBe(12);
  });
});

describe('kanplan reindex command', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(`${tmpdir()}/kanplan-reindex-`);
    const db = await openDatabase({ dataDir });
    try {
      await migrate(db);
      const repo = new SqlRepository(db, { participants: [createSearchIndexParticipant({ baseUrl: 'http://localhost:8080/fhir' })] });
      for (let i = 0; i < 5; i++) {
        await repo.update({ resourceType: 'Patient', id: `cli-${i}`, gender: 'female' });
      }
      await makeStale(db, 'Patient');
    } finally {
      await db.close();
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('shows a progress bar, reports what it did, and finds nothing left on a second run', async () => {
    const run = (): { status: number | null; stderr: string } =>
      spawnSync(process.execPath, ['src/cli.ts', 'reindex', '--batch', '2'], {
        encoding: 'utf8',
        env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', BASE_URL: 'http://localhost:8080/fhir', LOG_LEVEL: 'silent' },
      });
    const first = run();
    expect(first.stderr).toContain('\r[..............................] 0/5 resources (0%)');
    expect(first.stderr).toContain('\r[############..................] 2/5 resources (40%)');
    expect(first.stderr).toContain('[##############################] 5/5 resources (100%)');
    expect(first.stderr).toContain(`Reindexed 5 resources with search parameters ${searchFingerprint()}.`);
    expect(first.status).toBe(0);
    const second = run();
    expect(second.status).toBe(0);
    expect(second.stderr).toContain('Reindexed 0 resources');
    const db = await openDatabase({ dataDir });
    try {
      expect(await staleCount(db)).toBe(0);
      const rows = await db.query<{ n: string | number }>("SELECT count(*) AS n FROM sp_token WHERE resource_type = 'Patient' AND code = 'gender'");
      expect(Number(rows[0].n)).toBe(5);
    } finally {
      await db.close();
    }
  });
});
