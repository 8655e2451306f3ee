import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainSearch } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, matchIds, search } from './fixtures.ts';

/** CarePlans in the data set: enough that walking all of them in key order is visibly worse than the index. */
const PLANS = 30_000;

/**
 * Index rows written in bulk with SQL (as `kanplan reindex` would leave them) so the planner sees
 * a realistic table size: 30,000 active CarePlans, three per Patient.
 */
async function loadManyCarePlans(db: Database): Promise<void> {
  await db.exec(`
    INSERT INTO resource (resource_type, id, version_id, tx, last_updated, content)
      SELECT 'CarePlan', 'cp' || n, 1, 1, now(), '{"resourceType":"CarePlan","id":"cp' || n || '","status":"active","intent":"plan","subject":{"reference":"Patient/p' || (n / 3) || '"}}'
      FROM generate_series(0, ${PLANS - 1}) n;
    INSERT INTO sp_reference (resource_type, resource_id, code, target_type, target_id)
      SELECT 'CarePlan', 'cp' || n, c, 'Patient', 'p' || (n / 3) FROM generate_series(0, ${PLANS - 1}) n, unnest(ARRAY['subject', 'patient']) c;
    INSERT INTO sp_token (resource_type, resource_id, code, system, value)
      SELECT 'CarePlan', 'cp' || n, 'status', 'http://hl7.org/fhir/request-status', 'active' FROM generate_series(0, ${PLANS - 1}) n;
    ANALYZE resource;
    ANALYZE sp_reference;
    ANALYZE sp_token;
  `);
}

describe.each(searchTestDatabases)('search plans at scale on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    db = t.db;
    repo = t.repo;
    close = t.close;
    await loadManyCarePlans(db);
  }, 120_000);
  afterAll(async () => close());

  it('a selective first parameter drives the page query, not a walk over every CarePlan in id order', async () => {
    const params: [string, string][] = [['subject', 'Patient/p77'], ['status', 'active']];
    const plan = await explainSearch(conformance, repo, { resourceTypes: ['CarePlan'], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 });
    // The bad plan reads resource_pkey with only the type as its condition (every CarePlan).
    expect(plan).not.toMatch(/Index Cond: \(resource_type = 'CarePlan'::text\)\s*$/m);
    expect(plan).not.toMatch(/Seq Scan on resource\b/);
    expect(plan).toMatch(/sp_reference_target/);
    const bundle = await search(repo, 'CarePlan', params);
    expect(matchIds(bundle)).toEqual(['cp231', 'cp232', 'cp233']);
    expect(bundle.total).toBe(3);
  });

  it.runIf(kind === 'pglite')('on the embedded database the page query runs prepared, and its generic plan is index-driven too', async () => {
    for (let p = 0; p < 8; p++) {
      const bundle = await search(repo, 'CarePlan', [['subject', `Patient/p${100 + p}`], ['status', 'active']]);
      expect(bundle.total).toBe(3);
    }
    const [statement] = await db.query<{ name: string; generic_plans: string; custom_plans: string; parameters: number }>(
      `SELECT name, generic_plans::text, custom_plans::text, cardinality(parameter_types) AS parameters
         FROM pg_prepared_statements
        WHERE statement LIKE '%FROM sp_reference d WHERE%' AND statement LIKE '%AS total%'
        ORDER BY custom_plans + generic_plans DESC LIMIT 1`,
    );
    // One statement for the eight searches, run on its generic plan (src/store/pglite.ts).
    expect(Number(statement.custom_plans) + Number(statement.generic_plans)).toBeGreaterThanOrEqual(8);
    expect(Number(statement.generic_plans)).toBeGreaterThanOrEqual(1);
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
      const rows = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE ${statement.name}(${Array(statement.parameters).fill('NULL').join(', ')})`);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).not.toMatch(/Seq Scan on resource\b/);
      expect(plan).not.toMatch(/Index Cond: \(resource_type = \$1\)\s*$/m);
      expect(plan).toMatch(/sp_reference_target/);
    });
  });

  it('a system search over every type pages in primary-key order, without sorting every resource', async () => {
    const first = await search(repo, [], [['_count', '10']]);
    const next = first.link?.find((l) => l.relation === 'next')?.url as string;
    const cursor = new URL(next).searchParams.get('_cursor') as string;
    const params: [string, string][] = [['_count', '10'], ['_cursor', cursor]];
    const plan = await explainSearch(conformance, repo, { resourceTypes: [], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 });
    expect(plan).toMatch(/Index Scan using resource_pkey on resource/);
    expect(plan).not.toMatch(/\bSort\b/);
    const second = await search(repo, [], params);
    const expected = await db.query<{ id: string }>('SELECT id FROM resource WHERE NOT deleted ORDER BY resource_type, id LIMIT 10 OFFSET 10');
    expect(matchIds(second, true)).toEqual(expected.map((row) => row.id));
    expect(matchIds(second)).toHaveLength(10);
  });
});
