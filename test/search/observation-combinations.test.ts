import type { Bundle, Observation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseSearchParameters, basePatientCompartment, listResourceTypes } from '../../src/conformance/base-definitions.ts';
import type { Conformance } from '../../src/conformance/conformance.ts';
import { SearchParameterRegistry } from '../../src/conformance/search-parameters.ts';
import { explainSearch, searchResources, type SearchInput } from '../../src/search/index.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, matchIds } from './fixtures.ts';

/**
 * The Observation combinations that end in a date or a status (patient-category-date,
 * patient-category-status; issue 23) answer exactly what the separate parameters' own tables
 * answer: every search below runs twice, with the combinations and with a registry that has none
 * (the unoptimized query: the patient's reference rows drive, each other parameter a probe), and
 * the ids, totals and pages must be equal.
 */

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const category = (code: string) => ({ coding: [{ system: CATEGORY, code }] });

function obs(id: string, patient: string, fields: Partial<Observation>): Observation & { id: string } {
  return { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] }, subject: { reference: `Patient/${patient}` }, ...fields } as Observation & { id: string };
}

/** A fictional person's Observations in every shape the combinations see: dates of each kind, none, several categories, statuses. */
const OBSERVATIONS: (Observation & { id: string })[] = [
  obs('o-day', 'pa', { category: [category('laboratory')], effectiveDateTime: '2018-03-04' }),
  obs('o-instant', 'pa', { category: [category('laboratory')], effectiveInstant: '2018-01-01T00:00:00Z' }),
  obs('o-time', 'pa', { category: [category('laboratory')], effectiveDateTime: '2017-12-31T23:30:00Z' }),
  obs('o-month', 'pa', { category: [category('laboratory')], effectiveDateTime: '2019-06', status: 'amended' }),
  obs('o-period', 'pa', { category: [category('laboratory')], effectivePeriod: { start: '2017-11-01', end: '2018-02-01' }, status: 'preliminary' }),
  obs('o-open', 'pa', { category: [category('laboratory')], effectivePeriod: { start: '2020-01-01' } }),
  obs('o-nodate', 'pa', { category: [category('laboratory')] }),
  obs('o-nodate-amended', 'pa', { category: [category('laboratory')], status: 'amended' }),
  obs('o-two', 'pa', { category: [category('laboratory'), category('vital-signs')], effectiveDateTime: '2018-01-01' }),
  obs('o-vital', 'pa', { category: [category('vital-signs')], effectiveDateTime: '2018-05-05' }),
  obs('o-nocategory', 'pa', { effectiveDateTime: '2018-05-05' }),
  obs('o-recent', 'pa', { category: [category('laboratory')], effectiveDateTime: new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10) }),
  obs('o-other', 'pb', { category: [category('laboratory')], effectiveDateTime: '2018-03-04' }),
  // Written, then changed or deleted below: their earlier rows must not answer.
  obs('o-moved', 'pa', { category: [category('laboratory')], effectiveDateTime: '2018-03-04' }),
  obs('o-deleted', 'pa', { category: [category('laboratory')], effectiveDateTime: '2018-03-04' }),
];

/** The registry without combination indexes: every parameter answered by its own table. */
function withoutCombinations(): Conformance {
  const kansas = conformance.kansas.searchParameters.filter((sp) => !(sp.extension ?? []).some((e) => e.url === 'http://hapifhir.io/fhir/StructureDefinition/sp-unique'));
  return {
    ...conformance,
    searchParameters: new SearchParameterRegistry({ searchParameters: [...baseSearchParameters(), ...kansas], resourceTypes: listResourceTypes(), compartments: [basePatientCompartment()] }),
  };
}

const input = (params: [string, string][], pageSize = 20): SearchInput => ({ resourceTypes: ['Observation'], params, baseUrl: BASE, lenient: false, defaultPageSize: pageSize, maxPageSize: 1000 });

/** Every page of a search (pages of 2, following `next` links): ids in page order, the first page's total. */
async function allPages(c: Conformance, repo: Repository, params: [string, string][]): Promise<{ ids: string[]; total?: number; pages: number }> {
  const ids: string[] = [];
  let bundle: Bundle = await searchResources(c, repo, input(params, 2));
  const total = bundle.total;
  let pages = 1;
  for (;;) {
    ids.push(...matchIds(bundle, true));
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) break;
    bundle = await searchResources(c, repo, input([...params, ['_cursor', new URL(next).searchParams.get('_cursor') as string]], 2));
    pages++;
  }
  return { ids, total, pages };
}

const P: [string, string] = ['patient', 'pa'];
const LAB: [string, string] = ['category', 'laboratory'];

/** Searches answered from one combination key (and its rows' dates). */
const COMBINED: [string, [string, string][]][] = [
  ['patient and category', [P, LAB]],
  ['category given as system|code', [P, ['category', `${CATEGORY}|laboratory`]]],
  ['date ge', [P, LAB, ['date', 'ge2018-01-01']]],
  ['date gt', [P, LAB, ['date', 'gt2018-01-01']]],
  ['date le', [P, LAB, ['date', 'le2018-01-01']]],
  ['date lt', [P, LAB, ['date', 'lt2018-01-01']]],
  ['date eq a day', [P, LAB, ['date', 'eq2018-03-04']]],
  ['date without prefix, a month', [P, LAB, ['date', '2019-06']]],
  ['date eq an instant', [P, LAB, ['date', 'eq2018-01-01T00:00:00Z']]],
  ['date ap', [P, LAB, ['date', 'ap2018-01-15']]],
  ['date ap near now', [P, LAB, ['date', `ap${new Date().toISOString().slice(0, 10)}`]]],
  ['date ne', [P, LAB, ['date', 'ne2018-03-04']]],
  ['date sa and eb', [P, LAB, ['date', 'sa2017-12-31']]],
  ['date eb', [P, LAB, ['date', 'eb2018-01-01']]],
  ['a date OR list', [P, LAB, ['date', 'lt2017-12-01,ge2019-01-01']]],
  ['a date range (date given twice; the second a probe)', [P, LAB, ['date', 'ge2018-01-01'], ['date', 'lt2019-01-01']]],
  ['vital signs by date', [P, ['category', 'vital-signs'], ['date', 'ge2018-01-01']]],
  ['status', [P, LAB, ['status', 'final']]],
  ['status as |code', [P, LAB, ['status', '|amended']]],
  ['status with its implied system', [P, LAB, ['status', 'http://hl7.org/fhir/observation-status|preliminary']]],
  ['status and date (one of them a probe)', [P, LAB, ['status', 'final'], ['date', 'ge2018-01-01']]],
  ['parameters in another order', [['status', 'final'], LAB, P]],
  ['the patient as Type/id', [['patient', 'Patient/pa'], LAB, ['date', 'le2018-01-01']]],
];

/** Searches whose other values can match more than one key: their own tables answer, results still equal. */
const OWN_TABLES: [string, [string, string][]][] = [
  ['a status OR list', [P, LAB, ['status', 'final,amended']]],
  ['status :not', [P, LAB, ['status:not', 'final']]],
  ['a missing category', [P, ['category:missing', 'true'], ['date', 'ge2018-01-01']]],
  ['a category OR list and a date', [P, ['category', 'laboratory,vital-signs'], ['date', 'ge2018-01-01']]],
  ['date :missing', [P, LAB, ['date:missing', 'true']]],
  ['the patient and a date only', [P, ['date', 'ge2018-01-01']]],
  ['the subject instead of the patient', [['subject', 'Patient/pa'], LAB, ['date', 'ge2018-01-01']]],
];

describe.each(searchTestDatabases)('Observation patient-category-date and patient-category-status on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;
  const plain = withoutCombinations();

  beforeAll(async () => {
    ({ db, repo, close } = await openSearchTestDatabase(kind));
    for (const o of OBSERVATIONS) await repo.update(o);
    await repo.update(obs('o-moved', 'pa', { category: [category('vital-signs')], effectiveDateTime: '2016-01-01', status: 'cancelled' }));
    await repo.delete('Observation', 'o-deleted');
  });
  afterAll(async () => close());

  it('writes one row per patient, category form and date, and one with an empty date for an Observation without one', async () => {
    const rows = await db.query<{ value: string; low: unknown }>(
      "SELECT value, low FROM sp_composite WHERE resource_type = 'Observation' AND code = 'patient-category-date' AND resource_id = ANY($1::text[]) ORDER BY resource_id, value",
      [['o-day', 'o-nodate']],
    );
    expect(rows.map((r) => [r.value, r.low === null])).toEqual([
      ['Patient/pa$http://terminology.hl7.org/CodeSystem/observation-category|laboratory', false],
      ['Patient/pa$laboratory', false],
      ['Patient/pa$http://terminology.hl7.org/CodeSystem/observation-category|laboratory', true],
      ['Patient/pa$laboratory', true],
    ]);
    const none = await db.query("SELECT 1 FROM sp_composite WHERE resource_type = 'Observation' AND resource_id = 'o-nocategory' AND code LIKE 'patient-category%'");
    expect(none).toHaveLength(0);
  });

  it.each(COMBINED)('answers from one combination key what the own tables answer: %s', async (name, params) => {
    const expected = await allPages(plain, repo, params);
    const actual = await allPages(conformance, repo, params);
    expect(actual).toEqual(expected);
    const count = await searchResources(conformance, repo, input([...params, ['_summary', 'count']]));
    expect(count.total).toBe(expected.ids.length);
    // Driven from the combination's rows (by whichever of its indexes suits a table this small),
    // with no probe of the date or status table per candidate: those rows answer them.
    const plan = await explainSearch(conformance, repo, input(params));
    expect(plan).toMatch(/on sp_composite d\b/);
    expect(plan).not.toMatch(name.includes('probe') ? /on sp_reference / : /on sp_(date|token|reference) /);
  });

  it('finds what the test data set out to exercise', async () => {
    const ids = async (params: [string, string][]) => (await allPages(conformance, repo, params)).ids.sort();
    expect(await ids([P, LAB, ['date', 'ge2018-01-01']])).toEqual(['o-day', 'o-instant', 'o-month', 'o-open', 'o-period', 'o-recent', 'o-two']);
    expect(await ids([P, LAB, ['status', 'amended']])).toEqual(['o-month', 'o-nodate-amended']);
    expect(await ids([P, LAB])).toContain('o-nodate');
    expect(await ids([P, LAB])).not.toContain('o-moved');
    expect(await ids([P, LAB])).not.toContain('o-deleted');
    expect(await ids([P, ['category', 'vital-signs'], ['date', 'lt2017-01-01']])).toEqual(['o-moved']);
  });

  it.each(OWN_TABLES)('leaves to the own tables, with the same answer: %s', async (_, params) => {
    expect(await allPages(conformance, repo, params)).toEqual(await allPages(plain, repo, params));
  });

  it('is a composite parameter of its own too, with the date as its last component', async () => {
    const found = await searchResources(conformance, repo, input([['patient-category-date', 'Patient/pa$laboratory$lt2018-01-01']]));
    expect(matchIds(found)).toEqual(['o-period', 'o-time']);
    const status = await searchResources(conformance, repo, input([['patient-category-status', 'Patient/pa$laboratory$preliminary']]));
    expect(matchIds(status)).toEqual(['o-period']);
  });

  it('rejects a date that is not one, as the date parameter does', async () => {
    await expect(searchResources(conformance, repo, input([P, LAB, ['date', 'ge2018-13-45x']]))).rejects.toMatchObject({ status: 400 });
    await expect(searchResources(conformance, repo, input([P, LAB, ['date', 'ge2018-01-01,']]))).rejects.toMatchObject({ status: 400 });
  });
});
