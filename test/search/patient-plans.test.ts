import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_HISTORY_PATIENT, syntheaShapedData, usCorePatientSearches, type SyntheaShapedOptions } from '../../bench/search/synthea-shaped.ts';
import { createSearchIndexParticipant, explainSearch, reindex, type SearchInput } from '../../src/search/index.ts';
import { forgetCombinationIndexState } from '../../src/search/combination-index.ts';
import type { Database } from '../../src/store/database.ts';
import { PlannerStatistics } from '../../src/store/planner-statistics.ts';
import type { Repository } from '../../src/store/repository.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { conformance, openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { BASE, search } from './fixtures.ts';

/**
 * Issue 23: the US Core per-patient searches are driven from the patient's reference rows on both
 * databases, and every other parameter is a probe of one candidate by resource id — never a scan
 * of a value most rows share (`category=laboratory`), which on the embedded database's generic
 * plan read every laboratory Observation once per candidate (0.3-1 s a page). Plan shapes, not
 * timings; the data set is the Synthea-shaped one of the benchmark, small.
 */
const DATA: SyntheaShapedOptions = { patients: 100, longHistoryObservations: 200, observationsPerPatient: 2 };

/** Index scans that start from a parameter's value instead of the candidate's id (002_search_index.sql). */
const VALUE_INDEXES = /sp_token_value|sp_token_system|sp_token_text|sp_string_norm|sp_date_low|sp_date_high|sp_number_value|sp_quantity_value|sp_uri_value|sp_reference_url|resource_type_last_updated|resource_last_updated/;

function input(resourceType: string, params: [string, string][]): SearchInput {
  return { resourceTypes: [resourceType], params, baseUrl: BASE, lenient: false, defaultPageSize: 20, maxPageSize: 1000 };
}

/** The patient's reference rows (alias d of the page query's candidate subquery). */
const PATIENT_REFERENCE_ROWS = /Index (Only )?Scan using sp_reference_(target|resource) on sp_reference d\b|Bitmap Heap Scan on sp_reference d\b/;
/** The rows of one key of a combination index that includes the patient (Observation patient-category-date, patient-category-status, patient-code). */
const PATIENT_COMBINATION_ROWS = /Index (Only )?Scan using sp_composite_value on sp_composite d\b/;

/**
 * Observation searches naming the patient and one exact category or code are answered by the
 * patient-category-date / patient-category-status / patient-code combination index (profiles/input); the others by the patient's
 * reference rows.
 */
function drivenByCombination(resourceType: string, params: readonly (readonly [string, string])[]): boolean {
  return resourceType === 'Observation' && params.some(([name, value]) => (name === 'category' || name === 'code') && !value.includes(','));
}

function expectDrivenFromPatient(plan: string, combination = false): void {
  expect(plan).toMatch(combination ? PATIENT_COMBINATION_ROWS : PATIENT_REFERENCE_ROWS);
  if (combination) {
    // The key holds the patient: `Patient/<id>$<category or code>`.
    expect(plan).toMatch(/Index Cond: .*value = /);
  }
  expect(plan).not.toMatch(VALUE_INDEXES);
  expect(plan).not.toMatch(/Seq Scan on (resource|sp_\w+)\b/);
  expect(plan).not.toMatch(/Hash (Semi )?Join|Merge (Semi )?Join/);
}

describe.each(searchTestDatabases)('US Core per-patient search plans on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  let close: () => Promise<void>;
  const data = syntheaShapedData(DATA);
  const longHistory = data[0];

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    db = t.db;
    close = t.close;
    // As the server does (server.ts): the store keeps planner statistics where no autovacuum does.
    const statistics = (await PlannerStatistics.needed(db)) ? new PlannerStatistics(db) : undefined;
    await statistics?.start();
    repo = new SqlRepository(db, { participants: [createSearchIndexParticipant(conformance.searchParameters, { baseUrl: BASE })], statistics });
    for (const patient of data) {
      await repo.transaction(async (tx) => {
        for (const resource of patient) await tx.update(resource);
      });
    }
    await statistics?.settled();
  }, 300_000);
  afterAll(async () => close());

  const searches = usCorePatientSearches(LONG_HISTORY_PATIENT);

  it.each(searches.map((s) => [`${s.resourceType}?${s.params.map(([n, v]) => `${n}=${v}`).join('&')}`, s] as const))(
    '%s: first page, next page and _summary=count are driven from the patient',
    async (_, s) => {
      const first = await search(repo, s.resourceType, s.params);
      const combination = drivenByCombination(s.resourceType, s.params);
      expectDrivenFromPatient(await explainSearch(conformance, repo, input(s.resourceType, s.params)), combination);
      expectDrivenFromPatient(await explainSearch(conformance, repo, input(s.resourceType, [...s.params, ['_summary', 'count']])), combination);
      const next = first.link?.find((l) => l.relation === 'next')?.url;
      if (next) {
        const cursor = new URL(next).searchParams.get('_cursor') as string;
        expectDrivenFromPatient(await explainSearch(conformance, repo, input(s.resourceType, [...s.params, ['_cursor', cursor]])), combination);
      }
    },
  );

  it('the answers are the long-history patient\'s resources, all of them across pages', async () => {
    const labs = longHistory.filter((r) => r.resourceType === 'Observation' && JSON.stringify(r).includes('"laboratory"')).map((r) => r.id);
    const seen: string[] = [];
    let params: [string, string][] = [['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory']];
    for (let page = 0; page < 20; page++) {
      const bundle = await search(repo, 'Observation', params);
      if (page === 0) expect(bundle.total).toBe(labs.length);
      seen.push(...(bundle.entry ?? []).map((e) => e.resource?.id as string));
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      params = [['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory'], ['_cursor', new URL(next).searchParams.get('_cursor') as string]];
    }
    expect(seen.sort()).toEqual([...labs].sort());
  });

  it('the patient drives whatever its position among the parameters', async () => {
    const params: [string, string][] = [['category', 'laboratory'], ['status', 'final'], ['patient', LONG_HISTORY_PATIENT]];
    expectDrivenFromPatient(await explainSearch(conformance, repo, input('Observation', params)), true);
    const bundle = await search(repo, 'Observation', [...params, ['_summary', 'count']]);
    expect(bundle.total).toBe(DATA.longHistoryObservations / 2);
    // Two categories (an OR list) match more than one key: the patient's reference rows drive.
    const both: [string, string][] = [['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory,vital-signs']];
    expectDrivenFromPatient(await explainSearch(conformance, repo, input('Observation', both)));
    expect((await search(repo, 'Observation', [...both, ['_summary', 'count']])).total).toBe(DATA.longHistoryObservations);
  });

  it('the patient-category-date, patient-category-status and patient-code combinations answer what the patient\'s reference rows answer', async () => {
    const labs = longHistory.filter((r) => r.resourceType === 'Observation' && JSON.stringify(r).includes('"laboratory"'));
    const glucose = labs.filter((r) => JSON.stringify(r).includes('"2339-0"'));
    expect(glucose.length).toBeGreaterThan(0);
    const cases: [[string, string][], number][] = [
      [[['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory']], labs.length],
      [[['patient', `Patient/${LONG_HISTORY_PATIENT}`], ['category', 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory']], labs.length],
      [[['patient', LONG_HISTORY_PATIENT], ['code', 'http://loinc.org|2339-0']], glucose.length],
      [[['patient', LONG_HISTORY_PATIENT], ['code', '2339-0']], glucose.length],
      [[['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory'], ['code', 'http://loinc.org|2339-0']], glucose.length],
      [[['patient-category-status', `Patient/${LONG_HISTORY_PATIENT}$laboratory$final`]], labs.length],
      [[['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory'], ['status', 'final']], labs.length],
      [[['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory'], ['date', 'ge1900-01-01']], labs.length],
    ];
    for (const [params, expected] of cases) {
      expect((await search(repo, 'Observation', [...params, ['_summary', 'count']])).total, JSON.stringify(params)).toBe(expected);
    }
  });

  it('until every Observation is indexed with the combinations (kanplan reindex), the patient\'s reference rows drive', async () => {
    const params: [string, string][] = [['patient', LONG_HISTORY_PATIENT], ['category', 'laboratory']];
    // As a database indexed before the combinations existed: one Observation with an older fingerprint.
    await db.query("UPDATE resource SET index_hash = 'before-patient-category' WHERE resource_type = 'Observation' AND id = $1", [longHistory.find((r) => r.resourceType === 'Observation')?.id as string]);
    forgetCombinationIndexState(db); // as a server started on that database would know nothing yet
    try {
      expectDrivenFromPatient(await explainSearch(conformance, repo, input('Observation', params)), false);
      expect((await search(repo, 'Observation', [...params, ['_summary', 'count']])).total).toBe(DATA.longHistoryObservations / 2);
    } finally {
      await reindex(db, conformance.searchParameters, { baseUrl: BASE });
    }
    expectDrivenFromPatient(await explainSearch(conformance, repo, input('Observation', params)), true);
  });
});
