import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainSearch, reindex } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, loadFixtures, matchIds, search } from './fixtures.ts';

describe.each(searchTestDatabases)('search maintenance on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    db = t.db;
    repo = t.repo;
    close = t.close;
    await loadFixtures(repo);
  });
  afterAll(async () => close());

  it('stores the parameter fingerprint with each resource', async () => {
    const rows = await db.query<{ index_hash: string }>("SELECT index_hash FROM resource WHERE id = 'cp1'");
    expect(rows[0].index_hash).toBe(conformance.searchParameters.fingerprint);
  });

  it('reindex rebuilds stale rows in batches, resumes, and leaves current rows alone', async () => {
    // Rows indexed by an "older parameter set": wrong hash and lost index rows.
    await db.query("UPDATE resource SET index_hash = 'old' WHERE resource_type = 'CarePlan'");
    await db.query("DELETE FROM sp_token WHERE resource_type = 'CarePlan'");
    expect(matchIds(await search(repo, 'CarePlan', [['status', 'active']]))).toEqual([]);
    const progress: number[] = [];
    const done = await reindex(db, conformance.searchParameters, { batchSize: 2, baseUrl: BASE, onProgress: (p) => progress.push(p.done) });
    expect(done).toBe(4);
    expect(progress).toEqual([0, 2, 4]);
    expect(matchIds(await search(repo, 'CarePlan', [['status', 'active']]))).toEqual(['cp1', 'cp3']);
    expect(matchIds(await search(repo, 'CarePlan', [['patient', 'p2']]))).toEqual(['cp2']);
    expect(await reindex(db, conformance.searchParameters, { baseUrl: BASE })).toBe(0);
    const all = await reindex(db, conformance.searchParameters, { all: true, baseUrl: BASE });
    expect(all).toBeGreaterThan(10);
    expect(matchIds(await search(repo, 'Patient', [['name', 'mull']]))).toEqual(['p1']);
  });

  // With sequential scans priced out, the planner must still find an index path for the
  // resource table: proof that every benchmark query shape is indexable.
  it.each([
    ['CarePlan', [['subject', 'Patient/p1'], ['category', 'urn:ks:plan|pcsp'], ['status', 'active']]],
    ['Task', [['owner', 'Practitioner/pr1'], ['status', 'requested'], ['_sort', '-_lastUpdated']]],
    ['ServiceRequest', [['patient', 'p1'], ['_include', 'ServiceRequest:requester']]],
    ['CarePlan', [['subject:Patient.identifier', 'urn:ks:mco|A1']]],
    ['Patient', [['_has:CarePlan:subject:status', 'active']]],
    ['Task', [['_lastUpdated', 'gt2024-01-01'], ['_sort', '-_lastUpdated']]],
  ] as [string, [string, string][]][])('EXPLAIN %s?%j uses indexes, no sequential scan of resource', async (type, params) => {
    const plan = await repo.transaction(async (tx) => {
      await tx.sql.query('SET LOCAL enable_seqscan = off');
      return explainSearch(conformance, tx, { resourceTypes: [type], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 });
    });
    expect(plan).not.toMatch(/Seq Scan on resource\b/);
    expect(plan).toMatch(/Index/);
  });
});
