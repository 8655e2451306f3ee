import type { Bundle, CapabilityStatement, CarePlan, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainSearch, reindex } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { startTestServer, testDatabases, type TestServer } from '../harness.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, matchIds, search } from './fixtures.ts';

/** fullUrl and type/id of each match entry, in page order. */
function matches(bundle: Bundle): [string, string][] {
  return (bundle.entry ?? [])
    .filter((e) => e.search?.mode === 'match')
    .map((e) => [e.fullUrl as string, `${e.resource?.resourceType}/${e.resource?.id}`]);
}

function plan(id: string, contained: Resource[]): CarePlan & { id: string } {
  return { resourceType: 'CarePlan', id, status: 'active', intent: 'plan', subject: { reference: '#pt' }, contained };
}

const taylor: Patient = { resourceType: 'Patient', id: 'pt', name: [{ family: 'Taylor' }], birthDate: '1940-02-03' };
const tanner: Patient = { resourceType: 'Patient', id: 'pt', name: [{ family: 'Tanner' }], birthDate: '1950-05-06' };

// _contained (https://hl7.org/fhir/R4/search.html#contained): contained resources are found only
// when asked for, returned as their container or as themselves.
describe.each(searchTestDatabases)('_contained on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;

  /** Index rows of contained resources stored under one container. */
  async function containedRows(id: string): Promise<number> {
    const [{ n }] = await db.query<{ n: string | number }>(
      `SELECT (SELECT count(*) FROM sp_token WHERE resource_id = $1 AND contained_id IS NOT NULL)
            + (SELECT count(*) FROM sp_string WHERE resource_id = $1 AND contained_id IS NOT NULL)
            + (SELECT count(*) FROM sp_date WHERE resource_id = $1 AND contained_id IS NOT NULL) AS n`,
      [id],
    );
    return Number(n);
  }

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    db = t.db;
    repo = t.repo;
    close = t.close;
    await repo.update({ resourceType: 'Patient', id: 'p2', name: [{ family: 'Taylor' }], birthDate: '1960' } satisfies Patient);
    await repo.update(plan('cpA', [taylor, { resourceType: 'Goal', id: 'g1', lifecycleStatus: 'active', description: { text: 'Stay home' }, subject: { reference: '#pt' } }]));
    await repo.update(plan('cpB', [tanner]));
    // Two contained patients: each parameter must match the same one.
    await repo.update(plan('cpC', [{ ...taylor, id: 'pa' }, { ...tanner, id: 'pb' }]));
  });
  afterAll(async () => close());

  it('ignores contained resources by default and with _contained=false', async () => {
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor']]))).toEqual(['p2']);
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'false']]))).toEqual(['p2']);
    expect(matchIds(await search(repo, 'Goal', [['lifecycle-status', 'active']]))).toEqual([]);
    expect(matchIds(await search(repo, 'Patient', [['_id', 'pt']]))).toEqual([]);
    // The container's own parameters do not see its contained resources' values.
    expect(matchIds(await search(repo, 'CarePlan', [['_has:Goal:subject:lifecycle-status', 'active']]))).toEqual([]);
  });

  it('_contained=true returns the containers of matching contained resources', async () => {
    const bundle = await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'true']]);
    expect(matches(bundle)).toEqual([
      [`${BASE}/CarePlan/cpA`, 'CarePlan/cpA'],
      [`${BASE}/CarePlan/cpC`, 'CarePlan/cpC'],
    ]);
    expect(bundle.total).toBe(2);
    expect(matchIds(await search(repo, 'Goal', [['lifecycle-status', 'active'], ['_contained', 'true']]))).toEqual(['cpA']);
    expect(matchIds(await search(repo, 'Patient', [['_contained', 'true']]))).toEqual(['cpA', 'cpB', 'cpC']);
  });

  it('a contained resource that does not match is not returned, and every parameter matches the same one', async () => {
    expect(matchIds(await search(repo, 'Patient', [['name', 'tanner'], ['_contained', 'true']]))).toEqual(['cpB', 'cpC']);
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['birthdate', '1950'], ['_contained', 'true']]))).toEqual([]);
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['birthdate', '1940'], ['_contained', 'true']]))).toEqual(['cpA', 'cpC']);
    expect(matchIds(await search(repo, 'Patient', [['name', 'nobody'], ['_contained', 'true']]))).toEqual([]);
    expect(matchIds(await search(repo, 'Patient', [['_id', 'pb'], ['_contained', 'true']]))).toEqual(['cpC']);
  });

  it('_containedType=contained returns the contained resources with the container URL and #id as fullUrl', async () => {
    const bundle = await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'true'], ['_containedType', 'contained']]);
    expect(matches(bundle).sort()).toEqual([
      [`${BASE}/CarePlan/cpA#pt`, 'Patient/pt'],
      [`${BASE}/CarePlan/cpC#pa`, 'Patient/pa'],
    ]);
    expect(bundle.entry?.find((e) => e.fullUrl?.endsWith('#pt'))?.resource).toEqual(taylor);
  });

  it('_contained=both returns top-level and contained matches', async () => {
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'both']]))).toEqual(['cpA', 'cpC', 'p2']);
    const bundle = await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'both'], ['_containedType', 'contained']]);
    expect(matches(bundle).map(([url]) => url).sort()).toEqual([`${BASE}/CarePlan/cpA#pt`, `${BASE}/CarePlan/cpC#pa`, `${BASE}/Patient/p2`]);
    expect(bundle.total).toBe(3);
    const counted = await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'both'], ['_summary', 'count']]);
    expect(counted.total).toBe(3);
  });

  it('pages contained resources with next links that neither skip nor repeat', async () => {
    const seen: string[] = [];
    let params: [string, string][] = [['name', 'taylor'], ['_contained', 'both'], ['_containedType', 'contained'], ['_count', '1']];
    for (let page = 0; page < 5; page++) {
      const bundle = await search(repo, 'Patient', params);
      seen.push(...matches(bundle).map(([url]) => url));
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) {
        break;
      }
      params = [...new URL(next).searchParams.entries()];
    }
    expect(seen.sort()).toEqual([`${BASE}/CarePlan/cpA#pt`, `${BASE}/CarePlan/cpC#pa`, `${BASE}/Patient/p2`]);
  });

  it('rejects what cannot be combined with _contained', async () => {
    await expect(search(repo, 'Patient', [['_contained', 'true'], ['_sort', 'name']])).rejects.toMatchObject({ status: 400 });
    await expect(search(repo, ['Patient', 'Goal'], [['_contained', 'true']])).rejects.toMatchObject({ status: 400 });
    await expect(search(repo, 'Patient', [['_contained', 'true'], ['_lastUpdated', 'gt2020']])).rejects.toMatchObject({ status: 400 });
    await expect(
      search(repo, 'Patient', [['_contained', 'true'], ['_containedType', 'contained'], ['_include', 'Patient:organization']]),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('updating the container replaces its contained rows; deleting it removes them', async () => {
    await repo.update(plan('cpU', [taylor]));
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'true']]))).toContain('cpU');
    const before = await containedRows('cpU');
    await repo.update(plan('cpU', [{ ...taylor, name: [{ family: 'Turner' }] }]));
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'true']]))).not.toContain('cpU');
    expect(matchIds(await search(repo, 'Patient', [['name', 'turner'], ['_contained', 'true']]))).toEqual(['cpU']);
    expect(await containedRows('cpU')).toBe(before);
    await repo.update({ ...plan('cpU', []), contained: undefined });
    expect(await containedRows('cpU')).toBe(0);
    await repo.update(plan('cpU', [taylor]));
    await repo.delete('CarePlan', 'cpU');
    expect(await containedRows('cpU')).toBe(0);
    expect(matchIds(await search(repo, 'Patient', [['_id', 'pt'], ['_contained', 'true']]))).toEqual(['cpA', 'cpB']);
  });

  // Same check as maintenance.test.ts: with sequential scans priced out there is an index path.
  it.each([
    [[['name', 'taylor'], ['_contained', 'true']]],
    [[['name', 'taylor'], ['birthdate', '1940'], ['_contained', 'both'], ['_containedType', 'contained']]],
  ] as [[string, string][]][])('EXPLAIN Patient?%j uses indexes, no sequential scan of resource', async (params) => {
    const plan = await repo.transaction(async (tx) => {
      await tx.sql.query('SET LOCAL enable_seqscan = off');
      return explainSearch(conformance, tx, { resourceTypes: ['Patient'], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 });
    });
    expect(plan).not.toMatch(/Seq Scan on resource\b/);
    expect(plan).toMatch(/Index/);
  });

  it('reindex rebuilds contained rows', async () => {
    await db.query("DELETE FROM sp_string WHERE contained_id IS NOT NULL");
    await db.query("UPDATE resource SET index_hash = 'old' WHERE resource_type = 'CarePlan'");
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'true']]))).toEqual([]);
    await reindex(db, conformance.searchParameters, { baseUrl: BASE });
    expect(matchIds(await search(repo, 'Patient', [['name', 'taylor'], ['_contained', 'true']]))).toEqual(['cpA', 'cpC']);
  });
});

describe.each(testDatabases)('_contained over HTTP on %s', (kind) => {
  let server: TestServer;
  let planId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const created = (await server.client.create({
      resourceType: 'CarePlan',
      body: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: '#pt' }, contained: [{ resourceType: 'Patient', id: 'pt', name: [{ family: 'Containedson' }] }] } satisfies CarePlan,
    })) as CarePlan;
    planId = created.id as string;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('finds the contained Patient only with _contained, as container or as itself', async () => {
    const byDefault = (await server.client.search({ resourceType: 'Patient', searchParams: { name: 'containedson' } })) as Bundle;
    expect(byDefault.entry ?? []).toEqual([]);
    const containers = (await server.client.search({ resourceType: 'Patient', searchParams: { name: 'containedson', _contained: 'true' } })) as Bundle;
    expect(matches(containers)).toEqual([[`${server.url}/CarePlan/${planId}`, `CarePlan/${planId}`]]);
    const contained = (await server.client.search({
      resourceType: 'Patient',
      searchParams: { name: 'containedson', _contained: 'both', _containedType: 'contained' },
    })) as Bundle;
    expect(matches(contained)).toEqual([[`${server.url}/CarePlan/${planId}#pt`, 'Patient/pt']]);
  });

  it('the CapabilityStatement describes _contained and _containedType', async () => {
    const cs = (await server.client.capabilityStatement()) as CapabilityStatement;
    expect(cs.rest?.[0].searchParam?.map((p) => p.name)).toEqual(['_contained', '_containedType']);
  });
});
