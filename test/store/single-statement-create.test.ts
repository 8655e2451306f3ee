import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { createSearchIndexParticipant, searchResources } from '../../src/search/index.ts';
import { ConcurrentCreateError } from '../../src/store/store-errors.ts';
import { conformance, countingStatements, openSearchTestDatabase, searchTestDatabases } from '../search/db.ts';

describe.each(searchTestDatabases)('a create outside a transaction on %s', (kind) => {
  let store: Awaited<ReturnType<typeof openSearchTestDatabase>>;
  beforeAll(async () => {
    store = await openSearchTestDatabase(kind);
  });
  afterAll(async () => {
    await store?.close();
  });

  test('is one statement that writes the resource, its history and index rows under a transaction number of its own', async () => {
    const db = countingStatements(store.db);
    const repo = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: 'http://example.org/fhir' })] });
    const a = await repo.create({ resourceType: 'Patient', birthDate: '1931-07-04' } as Patient);
    const b = await repo.create({ resourceType: 'Patient', birthDate: '1931-07-04' } as Patient);
    expect(db.statements).toBe(2);
    const rows = await store.db.query<{ id: string; tx: string; history_tx: string }>(
      `SELECT r.id, r.tx, h.tx AS history_tx FROM resource r JOIN resource_history h USING (resource_type, id) WHERE r.id = ANY($1::text[]) ORDER BY r.tx`,
      [[a.id as string, b.id as string]],
    );
    expect(rows.map((row) => row.id)).toEqual([a.id, b.id]);
    expect(rows.every((row) => row.tx === row.history_tx)).toBe(true);
    expect(Number(rows[1].tx)).toBeGreaterThan(Number(rows[0].tx));
    const found = await searchResources(conformance, store.repo, { resourceTypes: ['Patient'], params: [['birthdate', '1931-07-04']], baseUrl: 'http://example.org/fhir', lenient: false, defaultPageSize: 20, maxPageSize: 100 });
    expect(found.entry?.map((e) => e.resource?.id).sort()).toEqual([a.id, b.id].sort());
  });

  test('of an id already taken fails as a concurrent create and writes nothing', async () => {
    await store.repo.create({ resourceType: 'Patient', gender: 'other' } as Patient, 'taken-id');
    await expect(store.repo.create({ resourceType: 'Patient', gender: 'female' } as Patient, 'taken-id')).rejects.toBeInstanceOf(ConcurrentCreateError);
    const history = await store.db.query<{ n: string }>(`SELECT count(*) AS n FROM resource_history WHERE id = 'taken-id'`);
    expect(Number(history[0].n)).toBe(1);
    expect((await store.repo.readCurrent('Patient', 'taken-id'))?.resource).toMatchObject({ gender: 'other' });
  });
});
