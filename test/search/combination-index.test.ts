import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainSearch, reindex } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, matchIds, search } from './fixtures.ts';

/** Work-list Tasks of two fictional coordinators in every status pairing. */
const TASKS: (Resource & { id: string })[] = [
  { resourceType: 'Task', id: 'w1', status: 'requested', intent: 'order', owner: { reference: 'PractitionerRole/cc-prairie' }, code: { coding: [{ system: 'urn:ks:task', code: 'review' }] } },
  { resourceType: 'Task', id: 'w2', status: 'requested', intent: 'order', owner: { reference: `${BASE}/PractitionerRole/cc-prairie` }, code: { coding: [{ system: 'urn:ks:task', code: 'visit' }] } },
  { resourceType: 'Task', id: 'w3', status: 'in-progress', intent: 'order', owner: { reference: 'PractitionerRole/cc-prairie' } },
  { resourceType: 'Task', id: 'w4', status: 'requested', intent: 'order', owner: { reference: 'PractitionerRole/cc-meadow' } },
  { resourceType: 'Task', id: 'w5', status: 'requested', intent: 'order', owner: { reference: 'Organization/mco-sunflower-test' } },
  { resourceType: 'Task', id: 'w6', status: 'requested', intent: 'order' },
  { resourceType: 'Task', id: 'w7', status: 'requested', intent: 'order', owner: { reference: 'https://other.example/fhir/PractitionerRole/cc-prairie' } },
];

/** A test database holding TASKS, written through the Repository (so with their index rows). */
async function openWithTasks(kind: 'pglite' | 'postgres'): Promise<{ db: Database; repo: Repository; close(): Promise<void> }> {
  const t = await openSearchTestDatabase(kind);
  for (const task of TASKS) {
    await t.repo.update(task);
  }
  return t;
}

const input = (params: [string, string][]) => ({ resourceTypes: ['Task'], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 });

describe.each(searchTestDatabases)('combination index (Task owner + status) on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, repo, close } = await openWithTasks(kind));
  });
  afterAll(async () => close());

  it('writes one row per owner and status form, with the values the separate parameters index', async () => {
    const rows = await db.query<{ value: string }>(
      "SELECT value FROM sp_composite WHERE resource_type = 'Task' AND resource_id = 'w2' AND code = 'owner-status' ORDER BY value",
    );
    // The absolute reference to this server is indexed as the local one, as Task-owner indexes it.
    expect(rows.map((r) => r.value)).toEqual(['PractitionerRole/cc-prairie$requested', 'PractitionerRole/cc-prairie$|requested']);
    const none = await db.query("SELECT 1 FROM sp_composite WHERE resource_type = 'Task' AND resource_id = 'w6' AND code = 'owner-status'");
    expect(none).toHaveLength(0);
  });

  const answered: [string, [string, string][], string[]][] = [
    ['Type/id', [['owner', 'PractitionerRole/cc-prairie'], ['status', 'requested']], ['w1', 'w2']],
    ['parameters in the other order', [['status', 'requested'], ['owner', 'PractitionerRole/cc-prairie']], ['w1', 'w2']],
    ['an absolute URL on this server', [['owner', `${BASE}/PractitionerRole/cc-prairie`], ['status', 'requested']], ['w1', 'w2']],
    ['|code (no system)', [['owner', 'PractitionerRole/cc-prairie'], ['status', '|requested']], ['w1', 'w2']],
    ['system|code with the implied system of a code element', [['owner', 'PractitionerRole/cc-prairie'], ['status', 'http://hl7.org/fhir/task-status|requested']], ['w1', 'w2']],
    ['another status', [['owner', 'PractitionerRole/cc-prairie'], ['status', 'in-progress']], ['w3']],
    ['a third parameter besides', [['owner', 'PractitionerRole/cc-prairie'], ['status', 'requested'], ['code', 'urn:ks:task|visit']], ['w2']],
    ['a repeated parameter (AND)', [['owner', 'PractitionerRole/cc-prairie'], ['status', 'requested'], ['status', 'in-progress']], []],
    ['an organization owner', [['owner', 'Organization/mco-sunflower-test'], ['status', 'requested']], ['w5']],
    ['an absolute URL of another server', [['owner', 'https://other.example/fhir/PractitionerRole/cc-prairie'], ['status', 'requested']], ['w7']],
  ];
  it.each(answered)('answers owner and status from one index key: %s', async (_, params, expected) => {
    expect(matchIds(await search(repo, 'Task', params))).toEqual(expected);
    expect(await explainSearch(conformance, repo, input(params))).toMatch(/sp_composite/);
  });

  const ownTables: [string, [string, string][], string[]][] = [
    ['a bare id of a parameter with several target types', [['owner', 'cc-prairie'], ['status', 'requested']], ['w1', 'w2']],
    ['an OR list', [['owner', 'PractitionerRole/cc-prairie'], ['status', 'requested,in-progress']], ['w1', 'w2', 'w3']],
    [':not', [['owner', 'PractitionerRole/cc-prairie'], ['status:not', 'requested']], ['w3']],
    [':missing', [['owner:missing', 'true'], ['status', 'requested']], ['w6']],
    // Task.status is a code: its implied system (task-status) names every status (token-terminology.ts).
    ['system| (any code of a system)', [['owner', 'PractitionerRole/cc-meadow'], ['status', 'http://hl7.org/fhir/task-status|']], ['w4']],
    ['system| of another system', [['owner', 'PractitionerRole/cc-meadow'], ['status', 'urn:ks:other|']], []],
    ['one of the two parameters', [['status', 'requested']], ['w1', 'w2', 'w4', 'w5', 'w6', 'w7']],
  ];
  it.each(ownTables)('leaves values that can match more than one key to the parameters own tables: %s', async (_, params, expected) => {
    expect(matchIds(await search(repo, 'Task', params))).toEqual(expected);
    expect(await explainSearch(conformance, repo, input(params))).not.toMatch(/sp_composite/);
  });

  it('is a composite parameter of its own too (owner-status=owner$status)', async () => {
    expect(matchIds(await search(repo, 'Task', [['owner-status', 'PractitionerRole/cc-meadow$requested']]))).toEqual(['w4']);
  });

  it('keeps the total, sort and paging of the search it answers', async () => {
    const params: [string, string][] = [['owner', 'PractitionerRole/cc-prairie'], ['status', 'requested'], ['_sort', '-_lastUpdated'], ['_count', '1']];
    const first = await search(repo, 'Task', params);
    expect(first.total).toBe(2);
    expect(matchIds(first, true)).toEqual(['w2']);
    const next = first.link?.find((l) => l.relation === 'next')?.url as string;
    const cursor = new URL(next).searchParams.get('_cursor') as string;
    expect(matchIds(await search(repo, 'Task', [...params, ['_cursor', cursor]]), true)).toEqual(['w1']);
  });
});

describe.each(searchTestDatabases)('combination index added to a database that holds data, on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, repo, close } = await openWithTasks(kind));
    // As a database indexed before the combination existed: no combination rows, an older fingerprint.
    await db.query("DELETE FROM sp_composite WHERE resource_type = 'Task' AND code = 'owner-status'");
    await db.query("UPDATE resource SET index_hash = 'before-owner-status' WHERE resource_type = 'Task'");
  });
  afterAll(async () => close());

  it('is not used before kanplan reindex has indexed every Task, so no Task is missed; afterwards it is', async () => {
    const params: [string, string][] = [['owner', 'PractitionerRole/cc-prairie'], ['status', 'requested']];
    expect(matchIds(await search(repo, 'Task', params))).toEqual(['w1', 'w2']);
    expect(await explainSearch(conformance, repo, input(params))).not.toMatch(/sp_composite/);

    expect(await reindex(db, conformance.searchParameters, { baseUrl: BASE })).toBe(TASKS.length);
    expect(matchIds(await search(repo, 'Task', params))).toEqual(['w1', 'w2']);
    expect(await explainSearch(conformance, repo, input(params))).toMatch(/sp_composite/);
  });
});
