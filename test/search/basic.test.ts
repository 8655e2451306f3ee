import type { Bundle, CarePlan, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createSearchIndexParticipant, findMatchingIds, searchResources } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { NICKNAME_PARAMETER } from '../conformance/fixtures.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';

const BASE = 'http://example.org/fhir';

function ids(bundle: Bundle): string[] {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id as string).sort();
}

describe.each(searchTestDatabases)('search basics on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;
  const search = (type: string, params: [string, string][], lenient = false): Promise<Bundle> =>
    searchResources(conformance, repo, { resourceTypes: [type], params, baseUrl: BASE, lenient, defaultPageSize: 20, maxPageSize: 1000 });

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    db = t.db;
    repo = t.repo;
    close = t.close;
    const put = (r: Resource & { id: string }): Promise<unknown> => repo.update(r);
    await put({ resourceType: 'Patient', id: 'p1', name: [{ family: 'Müller', given: ['Ann'] }], identifier: [{ system: 'urn:ks:mco', value: 'A1' }], birthDate: '1950-03-04', gender: 'female' } satisfies Patient);
    await put({ resourceType: 'Patient', id: 'p2', name: [{ family: 'Smith', given: ['Bob'] }], identifier: [{ system: 'urn:ks:mco', value: 'B2' }], birthDate: '1960', gender: 'male' } satisfies Patient);
    await put({ resourceType: 'CarePlan', id: 'cp1', status: 'active', intent: 'plan', subject: { reference: 'Patient/p1' }, period: { start: '2024-01-01', end: '2024-12-31' }, category: [{ coding: [{ system: 'urn:ks:plan', code: 'pcsp', display: 'Person-centered service plan' }] }] } satisfies CarePlan);
    await put({ resourceType: 'CarePlan', id: 'cp2', status: 'draft', intent: 'plan', subject: { reference: 'Patient/p2' }, period: { start: '2025-01-01' }, category: [{ coding: [{ system: 'urn:ks:plan', code: 'bsp' }] }] } satisfies CarePlan);
  });
  afterAll(async () => close());

  it('token, string, reference, date', async () => {
    expect(ids(await search('CarePlan', [['status', 'active']]))).toEqual(['cp1']);
    expect(ids(await search('CarePlan', [['category', 'urn:ks:plan|bsp']]))).toEqual(['cp2']);
    expect(ids(await search('Patient', [['name', 'mull']]))).toEqual(['p1']);
    expect(ids(await search('CarePlan', [['subject', 'Patient/p1']]))).toEqual(['cp1']);
    expect(ids(await search('CarePlan', [['patient', 'p2']]))).toEqual(['cp2']);
    expect(ids(await search('CarePlan', [['date', 'ge2025-02-01']]))).toEqual(['cp2']);
    expect(ids(await search('Patient', [['birthdate', '1960-05-05']]))).toEqual([]);
    expect(ids(await search('Patient', [['birthdate', 'eq1960']]))).toEqual(['p2']);
    expect(ids(await search('CarePlan', [['subject:Patient.identifier', 'urn:ks:mco|A1']]))).toEqual(['cp1']);
    expect(ids(await search('Patient', [['_has:CarePlan:subject:status', 'draft']]))).toEqual(['p2']);
  });

  it('finds conditional matches', async () => {
    expect(await findMatchingIds(conformance, repo, 'Patient', 'identifier=urn:ks:mco|B2', 2)).toEqual(['p2']);
  });

  it('rejects unknown parameters', async () => {
    await expect(search('CarePlan', [['nonsense', 'x']])).rejects.toMatchObject({ status: 400 });
    const lenient = await search('CarePlan', [['nonsense', 'x'], ['status', 'active']], true);
    expect(ids(lenient)).toEqual(['cp1']);
    expect(lenient.link?.[0].url).toBe(`${BASE}/CarePlan?status=active`);
  });

  it('indexes and searches a SearchParameter of a conformance built with it, which the default one does not know', async () => {
    const own = loadConformance({ searchParameters: [NICKNAME_PARAMETER] });
    const ownRepo = new SqlRepository(db, { participants: [createSearchIndexParticipant(own.searchParameters, { baseUrl: BASE })] });
    await ownRepo.update({ resourceType: 'Patient', id: 'p-nick', name: [{ family: 'Ward', given: ['Beatrice'] }, { use: 'nickname', given: ['Bee'] }] } satisfies Patient);
    try {
      const input = { resourceTypes: ['Patient'], params: [['nickname', 'bee']] as [string, string][], baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 };
      expect(ids(await searchResources(own, ownRepo, input))).toEqual(['p-nick']);
      await expect(search('Patient', [['nickname', 'bee']])).rejects.toMatchObject({ status: 400 });
    } finally {
      await ownRepo.delete('Patient', 'p-nick');
    }
  });
});
