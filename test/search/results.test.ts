import type { Bundle, OperationOutcome, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSearchIndexParticipant, searchResources } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { conformance, countingStatements, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, loadFixtures, matchIds, search } from './fixtures.ts';

/** Code-point order, as the index's "C" collation sorts ('~' after letters stands for "no value"). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function link(bundle: Bundle, relation: string): string | undefined {
  return bundle.link?.find((l) => l.relation === relation)?.url;
}

/** The parameters of a page link, to search again with (as the REST layer would). */
function paramsOf(url: string): [string, string][] {
  return [...new URL(url).searchParams.entries()];
}

function modeIds(bundle: Bundle, mode: 'match' | 'include'): string[] {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();
}

describe.each(searchTestDatabases)('search results on %s', (kind) => {
  let repo: Repository;
  let database: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    repo = t.repo;
    database = t.db;
    close = t.close;
    await loadFixtures(repo);
    // 25 Tasks for paging and sorting; priorities repeat so sorting has ties.
    for (let i = 0; i < 25; i++) {
      const priorities = ['routine', 'urgent', 'asap', undefined] as const;
      await repo.update({
        resourceType: 'Task', id: `page-${String(i).padStart(2, '0')}`, status: 'requested', intent: 'order',
        priority: priorities[i % 4], authoredOn: `2024-02-${String((i % 10) + 1).padStart(2, '0')}`,
        code: { coding: [{ system: 'urn:ks:task', code: 'paging' }] },
      } as Task & { id: string });
    }
  });
  afterAll(async () => close());

  const paging: [string, string][] = [['code', 'urn:ks:task|paging']];

  it('builds a searchset with fullUrl, search.mode, total and a self link of the applied parameters', async () => {
    const bundle = await search(repo, 'CarePlan', [['status', 'active'], ['_format', 'json']]);
    expect(bundle.type).toBe('searchset');
    expect(bundle.total).toBe(2);
    expect(bundle.entry?.[0].fullUrl).toBe(`${BASE}/CarePlan/cp1`);
    expect(bundle.entry?.[0].search?.mode).toBe('match');
    expect(link(bundle, 'self')).toBe(`${BASE}/CarePlan?status=active`);
    expect(link(bundle, 'next')).toBeUndefined();
  });

  it('pages by keyset: next and previous links walk the whole result once, in order', async () => {
    const first = await search(repo, 'Task', [...paging, ['_count', '10']]);
    expect(first.total).toBe(25);
    expect(matchIds(first, true)).toEqual(Array.from({ length: 10 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
    expect(link(first, 'previous')).toBeUndefined();
    const second = await search(repo, 'Task', paramsOf(link(first, 'next') as string));
    expect(matchIds(second, true)[0]).toBe('page-10');
    const third = await search(repo, 'Task', paramsOf(link(second, 'next') as string));
    expect(matchIds(third, true)).toEqual(['page-20', 'page-21', 'page-22', 'page-23', 'page-24']);
    expect(link(third, 'next')).toBeUndefined();
    const back = await search(repo, 'Task', paramsOf(link(third, 'previous') as string));
    expect(matchIds(back, true)).toEqual(matchIds(second, true));
    const backAgain = await search(repo, 'Task', paramsOf(link(back, 'previous') as string));
    expect(matchIds(backAgain, true)).toEqual(matchIds(first, true));
    expect(link(second, 'self')).toContain('_cursor=');
  });

  it('keeps pages stable while resources are inserted and deleted between page requests', async () => {
    const first = await search(repo, 'Task', [...paging, ['_count', '10'], ['_sort', '-authored-on']]);
    const seen = matchIds(first, true);
    // Inserted before the boundary (would shift an OFFSET) and deleted from the first page.
    await repo.update({ resourceType: 'Task', id: 'page-00a', status: 'requested', intent: 'order', authoredOn: '2024-02-20', code: { coding: [{ system: 'urn:ks:task', code: 'paging' }] } } as Task & { id: string });
    await repo.delete('Task', seen[0]);
    let next = link(first, 'next');
    while (next) {
      const page = await search(repo, 'Task', paramsOf(next));
      seen.push(...matchIds(page, true));
      next = link(page, 'next');
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
    await repo.delete('Task', 'page-00a');
    await repo.update({ resourceType: 'Task', id: 'page-09', status: 'requested', intent: 'order', priority: 'urgent', authoredOn: '2024-02-10', code: { coding: [{ system: 'urn:ks:task', code: 'paging' }] } } as Task & { id: string });
  });

  it('sorts on several keys with ties broken by id, nulls last, descending with -', async () => {
    const bundle = await search(repo, 'Task', [...paging, ['_sort', 'priority,-authored-on'], ['_count', '100']]);
    const tasks = (bundle.entry ?? []).map((e) => e.resource as Task);
    const keys = tasks.map((t) => `${t.priority ?? '~'} ${t.authoredOn}`);
    const expected = [...tasks]
      .sort((a, b) => cmp(a.priority ?? '~', b.priority ?? '~') || cmp(b.authoredOn as string, a.authoredOn as string) || cmp(a.id as string, b.id as string))
      .map((t) => `${t.priority ?? '~'} ${t.authoredOn}`);
    expect(keys).toEqual(expected);
    expect(tasks.at(-1)?.priority).toBeUndefined();
    const lastUpdated = await search(repo, 'Task', [...paging, ['_sort', '-_lastUpdated'], ['_count', '3']]);
    const times = (lastUpdated.entry ?? []).map((e) => e.resource?.meta?.lastUpdated as string);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('sorts on string, number and date parameters (normalized strings, nulls last both ways)', async () => {
    const patients: [string, string][] = [['_id', 'p1,p2,p3']];
    // family normalized: allen (Ållen), muller (Müller), smith
    expect(matchIds(await search(repo, 'Patient', [...patients, ['_sort', 'family']]), true)).toEqual(['p3', 'p1', 'p2']);
    expect(matchIds(await search(repo, 'Patient', [...patients, ['_sort', '-family']]), true)).toEqual(['p2', 'p1', 'p3']);
    // p3 has no birthDate: last ascending and descending
    expect(matchIds(await search(repo, 'Patient', [...patients, ['_sort', 'birthdate']]), true)).toEqual(['p1', 'p2', 'p3']);
    expect(matchIds(await search(repo, 'Patient', [...patients, ['_sort', '-birthdate']]), true)).toEqual(['p2', 'p1', 'p3']);
    expect(matchIds(await search(repo, 'RiskAssessment', [['_sort', '-probability']]), true)).toEqual(['ra2', 'ra1']);
    expect(matchIds(await search(repo, 'Observation', [['_sort', 'value-quantity,_id']]), true)).toEqual(['o1', 'o2', 'o3', 'o4']);
    expect(matchIds(await search(repo, 'Patient', [...patients, ['_sort', '-_id']]), true)).toEqual(['p3', 'p2', 'p1']);
  });

  it('pages through a sort with ties and nulls without losing rows', async () => {
    const seen: string[] = [];
    let params: [string, string][] | undefined = [...paging, ['_sort', 'priority'], ['_count', '4']];
    while (params) {
      const page = await search(repo, 'Task', params);
      seen.push(...matchIds(page, true));
      const next = link(page, 'next');
      params = next ? paramsOf(next) : undefined;
    }
    expect(seen.length).toBe(25);
    expect(new Set(seen).size).toBe(25);
  });

  it('_lastUpdated compares instants at the precision of the value, also inside a chain', async () => {
    const stored = (await search(repo, 'Patient', [['_id', 'p1']])).entry?.[0].resource?.meta?.lastUpdated as string;
    const p1Matches = async (value: string, chained = false): Promise<boolean> =>
      chained
        ? matchIds(await search(repo, 'CarePlan', [['_id', 'cp1'], ['subject:Patient._lastUpdated', value]])).includes('cp1')
        : matchIds(await search(repo, 'Patient', [['_id', 'p1'], ['_lastUpdated', value]])).includes('p1');
    expect(await p1Matches(stored)).toBe(true);
    expect(await p1Matches(`eq${stored.slice(0, 10)}`)).toBe(true);
    expect(await p1Matches(`ne${stored}`)).toBe(false);
    expect(await p1Matches(`gt${stored}`)).toBe(false);
    expect(await p1Matches(`ge${stored}`)).toBe(true);
    expect(await p1Matches(`le${stored}`)).toBe(true);
    expect(await p1Matches(`lt${stored}`)).toBe(false);
    expect(await p1Matches(`sa${stored}`)).toBe(false);
    expect(await p1Matches(`eb${stored}`)).toBe(false);
    expect(await p1Matches(`eb${stored.slice(0, 4)}`)).toBe(false);
    expect(await p1Matches(`lt${String(Number(stored.slice(0, 4)) + 1)}`)).toBe(true);
    expect(await p1Matches(stored, true)).toBe(true);
    expect(await p1Matches(`gt${stored}`, true)).toBe(false);
  });

  it('_total none, accurate, and _summary=count', async () => {
    expect((await search(repo, 'Task', [...paging, ['_total', 'none'], ['_count', '5']])).total).toBeUndefined();
    expect((await search(repo, 'Task', [...paging, ['_total', 'accurate'], ['_count', '5']])).total).toBe(25);
    expect((await search(repo, 'Task', [...paging, ['_total', 'estimate'], ['_count', '5']])).total).toBe(25);
    const count = await search(repo, 'Task', [...paging, ['_summary', 'count']]);
    expect(count.total).toBe(25);
    expect(count.entry).toBeUndefined();
    const zero = await search(repo, 'Task', [...paging, ['_count', '0']]);
    expect(zero.total).toBe(25);
  });

  it('_summary and _elements shape the resources and mark them SUBSETTED', async () => {
    const summary = await search(repo, 'Patient', [['_id', 'p1'], ['_summary', 'true']]);
    const p = summary.entry?.[0].resource as unknown as Record<string, unknown> & { meta: { tag: { code: string }[] } };
    expect(p.name).toBeDefined();
    expect(p.telecom).toBeDefined();
    expect(p.meta.tag.map((t) => t.code)).toContain('SUBSETTED');
    const elements = await search(repo, 'Patient', [['_id', 'p1'], ['_elements', 'birthDate']]);
    expect(Object.keys(elements.entry?.[0].resource ?? {}).sort()).toEqual(['birthDate', 'id', 'meta', 'resourceType']);
    const data = await search(repo, 'Patient', [['_id', 'p1'], ['_summary', 'data']]);
    expect((data.entry?.[0].resource as unknown as Record<string, unknown>).address).toBeDefined();
    const text = await search(repo, 'Patient', [['_id', 'p1'], ['_summary', 'text']]);
    expect((text.entry?.[0].resource as unknown as Record<string, unknown>).name).toBeUndefined();
    // Elements not marked summary in R4 Patient (text, maritalStatus, contact) go; summary ones stay.
    await repo.update({
      resourceType: 'Patient', id: 'sum1', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Dee</div>' },
      name: [{ family: 'Dee' }], gender: 'other', maritalStatus: { text: 'unmarried' }, contact: [{ name: { family: 'Dee' } }],
    });
    const full = await search(repo, 'Patient', [['_id', 'sum1'], ['_summary', 'true']]);
    expect(Object.keys(full.entry?.[0].resource ?? {}).sort()).toEqual(['gender', 'id', 'meta', 'name', 'resourceType']);
    const textOnly = await search(repo, 'Patient', [['_id', 'sum1'], ['_summary', 'text']]);
    expect(Object.keys(textOnly.entry?.[0].resource ?? {}).sort()).toEqual(['id', 'meta', 'resourceType', 'text']);
    const dataOnly = await search(repo, 'Patient', [['_id', 'sum1'], ['_summary', 'data']]);
    expect(Object.keys(dataOnly.entry?.[0].resource ?? {}).sort()).toEqual(['contact', 'gender', 'id', 'maritalStatus', 'meta', 'name', 'resourceType']);
    const unshaped = await search(repo, 'Patient', [['_id', 'sum1'], ['_summary', 'false']]);
    expect(unshaped.entry?.[0].resource?.meta?.tag).toBeUndefined();
    const twoElements = await search(repo, 'Patient', [['_id', 'sum1'], ['_elements', 'gender,contact']]);
    expect(Object.keys(twoElements.entry?.[0].resource ?? {}).sort()).toEqual(['contact', 'gender', 'id', 'meta', 'resourceType']);
    await repo.delete('Patient', 'sum1');
  });

  it('_include, _include:iterate, _include=*, _revinclude and _revinclude:iterate', async () => {
    const include = await search(repo, 'CarePlan', [['_id', 'cp1'], ['_include', 'CarePlan:subject']]);
    expect(modeIds(include, 'match')).toEqual(['CarePlan/cp1']);
    expect(modeIds(include, 'include')).toEqual(['Patient/p1']);
    const typed = await search(repo, 'CarePlan', [['_id', 'cp1'], ['_include', 'CarePlan:subject:Practitioner']]);
    expect(modeIds(typed, 'include')).toEqual([]);
    const star = await search(repo, 'CarePlan', [['_id', 'cp1'], ['_include', '*']]);
    expect(modeIds(star, 'include')).toEqual(['Goal/g1', 'Patient/p1']);
    const rev = await search(repo, 'CarePlan', [['_id', 'cp1,cp2'], ['_revinclude', 'Task:focus']]);
    expect(modeIds(rev, 'include')).toEqual(['Task/t1', 'Task/t2']);
    const iterate = await search(repo, 'Task', [['_id', 't1'], ['_include', 'Task:focus'], ['_include:iterate', 'CarePlan:goal']]);
    expect(modeIds(iterate, 'include')).toEqual(['CarePlan/cp1', 'Goal/g1']);
    const notIterated = await search(repo, 'Task', [['_id', 't1'], ['_include', 'Task:focus'], ['_include', 'CarePlan:goal']]);
    expect(modeIds(notIterated, 'include')).toEqual(['CarePlan/cp1']);
    // _revinclude=*: every resource that references a match, through any reference parameter.
    const revStar = await search(repo, 'Goal', [['_id', 'g1'], ['_revinclude', '*']]);
    expect(modeIds(revStar, 'include')).toEqual(['CarePlan/cp1']);
    const revStarOfPatient = await search(repo, 'Patient', [['_id', 'p2'], ['_revinclude', '*']]);
    expect(modeIds(revStarOfPatient, 'include')).toEqual(['CarePlan/cp2', 'Observation/o2', 'Observation/o3', 'RiskAssessment/ra2', 'Task/t2']);
    const revSourceStar = await search(repo, 'CarePlan', [['_id', 'cp1'], ['_revinclude', 'Task:*']]);
    expect(modeIds(revSourceStar, 'include')).toEqual(['Task/t1']);
    const revIterate = await search(repo, 'Patient', [['_id', 'p1'], ['_revinclude', 'CarePlan:subject'], ['_revinclude:iterate', 'Task:focus']]);
    expect(modeIds(revIterate, 'include')).toEqual(['CarePlan/cp1', 'Task/t1']);
    expect(link(revIterate, 'self')).toBe(`${BASE}/Patient?_id=p1&_revinclude=CarePlan%3Asubject&_revinclude%3Aiterate=Task%3Afocus`);
  });

  it('selects the page and the first round of includes in one statement, from the page rows only', async () => {
    const db = countingStatements(database);
    const counted = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: BASE })] });
    // Two matches, a page of one: the second match is read (it tells that a next page exists)
    // but its Task is not included.
    const bundle = await search(counted, 'CarePlan', [['_id', 'cp1,cp2'], ['_count', '1'], ['_revinclude', 'Task:focus'], ['_include', 'CarePlan:subject']]);
    expect(modeIds(bundle, 'match')).toEqual(['CarePlan/cp1']);
    expect(modeIds(bundle, 'include')).toEqual(['Patient/p1', 'Task/t1']);
    expect(link(bundle, 'next')).toBeDefined();
    expect(bundle.total).toBe(2);
    expect(db.statements).toBe(1);
  });

  it('caps included resources at the maximum page size and says so in an outcome entry', async () => {
    const bundle = await searchResources(conformance, repo, {
      resourceTypes: ['CarePlan'], params: [['_id', 'cp1'], ['_include', '*']], baseUrl: BASE, lenient: false, defaultPageSize: 1, maxPageSize: 1,
    });
    expect(modeIds(bundle, 'include').length).toBe(1);
    const outcome = bundle.entry?.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
    expect(outcome.issue[0].code).toBe('incomplete');
  });

  it('compartment search uses the R4 Patient compartment', async () => {
    const carePlans = await search(repo, 'CarePlan', [], { compartment: { resourceType: 'Patient', id: 'p1' } });
    expect(matchIds(carePlans)).toEqual(['cp1']);
    expect(link(carePlans, 'self')).toBe(`${BASE}/Patient/p1/CarePlan`);
    const tasks = await search(repo, 'Task', [['status', 'requested']], { compartment: { resourceType: 'Patient', id: 'p1' } });
    expect(matchIds(tasks)).toEqual(['t1']);
    const patient = await search(repo, 'Patient', [], { compartment: { resourceType: 'Patient', id: 'p1' } });
    expect(matchIds(patient)).toEqual(['p1']);
    const everything = await search(repo, [], [], { compartment: { resourceType: 'Patient', id: 'p1' }, pageSize: 100 });
    expect(modeIds(everything, 'match')).toEqual(['CarePlan/cp1', 'Goal/g1', 'Observation/o1', 'Patient/p1', 'RiskAssessment/ra1', 'Task/t1']);
    expect(link(everything, "self")).toBe(`${BASE}/Patient/p1/*`);
  });

  it('system search over several types with _type and common parameters', async () => {
    const bundle = await search(repo, ['CarePlan', 'Goal'], [['_id', 'cp1,g1,p1']]);
    expect(modeIds(bundle, 'match')).toEqual(['CarePlan/cp1', 'Goal/g1']);
    const byParam = await search(repo, [], [['_type', 'Patient,Practitioner'], ['_id', 'p1,pr1,cp1']]);
    expect(modeIds(byParam, 'match')).toEqual(['Patient/p1', 'Practitioner/pr1']);
    expect(link(byParam, 'self')).toBe(`${BASE}?_type=Patient%2CPractitioner&_id=p1%2Cpr1%2Ccp1`);
    const shared = await search(repo, ['CarePlan', 'Goal'], [['patient', 'p1']]);
    expect(modeIds(shared, 'match')).toEqual(['CarePlan/cp1', 'Goal/g1']);
    await expect(search(repo, ['CarePlan', 'Patient'], [['status', 'active']])).rejects.toMatchObject({ status: 400 });
  });

  it('lenient handling ignores bad parameters, reports them in an outcome entry and leaves them out of the self link', async () => {
    const bundle = await search(repo, 'CarePlan', [['status', 'active'], ['bogus', '1'], ['date', 'someday']], { lenient: true });
    expect(matchIds(bundle)).toEqual(['cp1', 'cp3']);
    expect(link(bundle, 'self')).toBe(`${BASE}/CarePlan?status=active`);
    const outcome = bundle.entry?.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
    expect(outcome.issue.map((i) => i.severity)).toEqual(['warning', 'warning']);
    expect(outcome.issue[0].diagnostics).toContain('bogus');
    expect(outcome.issue[1].diagnostics).toContain('someday');
  });

  it('clamps _count to the maximum page size', async () => {
    const bundle = await search(repo, 'Task', [...paging, ['_count', '5000']]);
    expect(link(bundle, 'self')).toContain('_count=1000');
    expect(matchIds(bundle).length).toBe(25);
  });
});
