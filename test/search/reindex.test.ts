import type { Bundle, CarePlan, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reindex } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, loadFixtures, matchIds, search } from './fixtures.ts';
import { makeStale, staleCount } from './stale-index.ts';

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
      reindex(db, conformance.searchParameters, { batchSize: 2, baseUrl: BASE, onProgress: (p) => { if (p.done > 0) throw stop; } }),
    ).rejects.toBe(stop);
    expect(await staleCount(db)).toBe(1);
    const progress: string[] = [];
    expect(await reindex(db, conformance.searchParameters, { batchSize: 2, baseUrl: BASE, onProgress: (p) => progress.push(`${p.done}/${p.total}`) })).toBe(1);
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
    const [done, ...statuses] = await Promise.all([reindex(server.db, conformance.searchParameters, { batchSize: 2, baseUrl: server.url }), ...writes]);
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
