import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repository } from '../../src/store/repository.ts';
import { openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { loadFixtures, matchIds, search } from './fixtures.ts';

/**
 * Every parameter type, modifier and prefix of https://hl7.org/fhir/R4/search.html against the
 * fixtures; each row is [resource type, parameters, expected match ids].
 */
const CASES: [string, [string, string][], string[]][] = [
  // token (search.html#token)
  ['CarePlan', [['status', 'active']], ['cp1', 'cp3']],
  ['CarePlan', [['status', 'active,draft']], ['cp1', 'cp2', 'cp3']],
  ['CarePlan', [['category', 'urn:ks:plan|bsp']], ['cp2']],
  ['CarePlan', [['category', 'urn:other|bsp']], []],
  ['CarePlan', [['category', 'urn:ks:plan|']], ['cp1', 'cp2', 'cp3']],
  ['Patient', [['identifier', '|A1']], []],
  ['Patient', [['identifier', 'A1']], ['p1']],
  ['Practitioner', [['identifier', '|NOSYS-1']], ['pr1']],
  ['Practitioner', [['identifier', 'urn:ks:mco|NOSYS-1']], []],
  ['Patient', [['gender', 'female']], ['p1']],
  ['Patient', [['active', 'true']], ['p1']],
  ['Patient', [['telecom', 'phone|785-555-0101']], ['p1']],
  ['CarePlan', [['status:not', 'active']], ['cp2', 'ks1']],
  ['Patient', [['gender:not', 'male']], ['p1', 'p3']],
  ['CarePlan', [['category:text', 'person-centered']], ['cp1']],
  ['CarePlan', [['category:text', 'waiver']], ['cp1']],
  ['CarePlan', [['category:text', 'SERVICE']], ['cp1']],
  ['CarePlan', [['category:text', 'pérson']], ['cp1']],
  ['CarePlan', [['category:text', 'ervice']], []],
  ['Patient', [['identifier:of-type', 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|A1']], ['p1']],
  ['Patient', [['identifier:of-type', 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|B2']], []],
  ['Patient', [['identifier:missing', 'true']], ['p3']],
  ['Patient', [['identifier:missing', 'false']], ['p1', 'p2']],
  // repetition = AND
  ['CarePlan', [['status', 'active'], ['category', 'isp']], ['cp3']],
  // string (search.html#string)
  ['Patient', [['name', 'mull']], ['p1']],
  ['Patient', [['name', 'MÜL']], ['p1']],
  ['Patient', [['name', 'allen']], ['p3']],
  ['Patient', [['name', 'marie']], ['p1']],
  ['Patient', [['name', 'ller']], []],
  ['Patient', [['name:contains', 'ller']], ['p1']],
  ['Patient', [['name:contains', 'ÜLL']], ['p1']],
  ['Patient', [['name:contains', 'lle']], ['p1', 'p3']],
  ['Patient', [['name:exact', 'Ållen']], ['p3']],
  ['Patient', [['name:exact', 'Müller']], ['p1']],
  ['Patient', [['name:exact', 'muller']], []],
  ['Patient', [['family', 'smith,jones']], ['p2']],
  ['Patient', [['address-city', 'wich']], ['p2']],
  ['Patient', [['address', 'topeka']], ['p1']],
  ['Patient', [['address-postalcode:missing', 'true']], ['p2', 'p3']],
  ['InsurancePlan', [['name', 'health']], []],
  ['InsurancePlan', [['name', 'sunflower,kancare']], ['ip1']],
  // reference (search.html#reference)
  ['CarePlan', [['subject', 'Patient/p1']], ['cp1']],
  ['CarePlan', [['subject', 'p2']], ['cp2']],
  ['CarePlan', [['subject:Patient', 'p2']], ['cp2']],
  ['CarePlan', [['subject', 'http://example.org/fhir/Patient/p2']], ['cp2']],
  ['CarePlan', [['subject', 'http://other.example/fhir/Patient/zz']], ['cp3']],
  ['CarePlan', [['patient', 'p1,p2']], ['cp1', 'cp2']],
  ['CarePlan', [['instantiates-canonical', 'http://ks.gov/fhir/PlanDefinition/pcsp']], ['cp1']],
  ['CarePlan', [['goal:missing', 'true']], ['cp2', 'cp3', 'ks1']],
  ['Task', [['owner:identifier', 'urn:npi|1234567893']], ['t1']],
  ['Task', [['owner', 'Practitioner/pr1']], ['t2']],
  // t1's owner is a logical reference (identifier only): a value, so not missing
  ['Task', [['owner:missing', 'true']], []],
  ['Task', [['owner:missing', 'false']], ['t1', 't2']],
  ['Task', [['requester:missing', 'true']], ['t1', 't2']],
  // date (search.html#date) — cp1 is [2024-01-01, 2025-01-01), cp2 [2025-01-01, ∞), cp3 has none
  ['CarePlan', [['date', '2024']], ['cp1']],
  ['CarePlan', [['date', 'eq2024-06']], []],
  ['CarePlan', [['date', 'ne2024']], ['cp2']],
  ['CarePlan', [['date', 'gt2024-06-30']], ['cp1', 'cp2']],
  ['CarePlan', [['date', 'lt2024-06-01']], ['cp1']],
  ['CarePlan', [['date', 'ge2025-01-01']], ['cp2']],
  ['CarePlan', [['date', 'le2024-01-01']], ['cp1']],
  ['CarePlan', [['date', 'sa2024-12-31']], ['cp2']],
  ['CarePlan', [['date', 'eb2025-01-01']], ['cp1']],
  ['CarePlan', [['date', 'ap2024-12-30']], ['cp1', 'cp2']],
  // ap is a window around the value (10% of its distance from now), not "anything after"
  ['CarePlan', [['date', 'ap2020-01-01']], []],
  ['Patient', [['birthdate', 'ap1948']], ['p1']],
  ['Patient', [['birthdate', 'sa1950-03-04'], ['birthdate', 'eb1960-01-02']], []],
  ['Patient', [['birthdate', 'sa1950-03-03']], ['p1', 'p2']],
  ['Patient', [['birthdate', 'eb1960']], ['p1']],
  ['CarePlan', [['date:missing', 'true']], ['cp3', 'ks1']],
  ['CarePlan', [['date', 'ge2024-03-01'], ['date', 'lt2024-04-01']], ['cp1']],
  // Timing: the range from the first to the last event
  ['CarePlan', [['activity-date', '2024-03']], ['ks1']],
  ['CarePlan', [['activity-date', 'ge2024-03-04']], ['ks1']],
  ['CarePlan', [['activity-date', 'gt2024-03-06']], []],
  ['CarePlan', [['activity-date', 'sa2024-02-28']], ['ks1']],
  ['Patient', [['birthdate', '1950-03-04']], ['p1']],
  ['Patient', [['birthdate', '1950-03']], ['p1']],
  ['Patient', [['birthdate', '1960-05-05']], []],
  ['Patient', [['birthdate', 'le1960-05-05']], ['p1', 'p2']],
  ['Patient', [['birthdate', 'gt1955']], ['p2']],
  ['Patient', [['birthdate', '1950-03-04T10:00:00Z']], []],
  ['Goal', [['target-date', 'ge2024-09-30T12:00:00+02:00']], ['g1']],
  // number (search.html#number): 0.54 and 0.56
  ['RiskAssessment', [['probability', '0.5']], ['ra1']],
  ['RiskAssessment', [['probability', '0.54']], ['ra1']],
  ['RiskAssessment', [['probability', '0.540']], ['ra1']],
  ['RiskAssessment', [['probability', 'gt0.55']], ['ra2']],
  ['RiskAssessment', [['probability', 'lt0.55']], ['ra1']],
  ['RiskAssessment', [['probability', 'ge0.56']], ['ra2']],
  ['RiskAssessment', [['probability', 'le0.54']], ['ra1']],
  ['RiskAssessment', [['probability', 'ne0.54']], ['ra2']],
  ['RiskAssessment', [['probability', 'ap0.55']], ['ra1', 'ra2']],
  ['RiskAssessment', [['probability', 'sa0.54']], ['ra2']],
  ['RiskAssessment', [['probability', 'eb0.56']], ['ra1']],
  ['RiskAssessment', [['probability', '5e-1']], ['ra1']],
  ['RiskAssessment', [['probability', '6e-1']], ['ra2']],
  ['RiskAssessment', [['probability:missing', 'false']], ['ra1', 'ra2']],
  ['RiskAssessment', [['probability:missing', 'true']], []],
  // quantity (search.html#quantity): 5.4 mg and 100 mg
  ['Observation', [['value-quantity', '5.4|http://unitsofmeasure.org|mg']], ['o1']],
  ['Observation', [['value-quantity', '5.4||mg']], ['o1']],
  ['Observation', [['value-quantity', '5.4|http://unitsofmeasure.org|g']], []],
  ['Observation', [['value-quantity', 'gt5|http://unitsofmeasure.org|mg']], ['o1', 'o2']],
  ['Observation', [['value-quantity', 'lt10']], ['o1']],
  ['Observation', [['value-quantity', 'ap100||mg']], ['o2']],
  ['Observation', [['value-quantity:missing', 'true']], ['o3', 'o4']],
  // composite (search.html#composite)
  ['Observation', [['code-value-concept', 'http://loinc.org|8480-6$http://snomed.info/sct|373066001']], ['o3']],
  ['Observation', [['code-value-concept', '8480-6$373066001']], ['o3']],
  ['Observation', [['code-value-concept', '2345-7$373066001']], []],
  ['Observation', [['code-value-quantity', '2345-7$gt5']], ['o1', 'o2']],
  ['Observation', [['code-value-quantity', 'http://loinc.org|2345-7$lt10|http://unitsofmeasure.org|mg']], ['o1']],
  ['Observation', [['code-value-quantity', '2345-7$5.4||g']], []],
  ['Observation', [['code-value-quantity', '8480-6$gt0']], []],
  ['Observation', [['code-value-date', '1234-5$ge2024-04'], ['code-value-date', '1234-5$lt2024-06']], ['o4']],
  ['Observation', [['code-value-date', '1234-5$2024-05']], ['o4']],
  ['Observation', [['code-value-date', '1234-5$gt2024-06']], []],
  ['Observation', [['code-value-string', '2345-7$x']], []],
  ['Observation', [['code-value-quantity:missing', 'false']], ['o1', 'o2']],
  ['Observation', [['code-value-concept:missing', 'true']], ['o1', 'o2', 'o4']],
  // uri (search.html#uri)
  ['CarePlan', [['instantiates-uri', 'http://ks.gov/protocol/a']], ['cp1']],
  ['CarePlan', [['instantiates-uri', 'http://ks.gov/protocol']], []],
  ['CarePlan', [['instantiates-uri:below', 'http://ks.gov/']], ['cp1', 'cp2']],
  ['CarePlan', [['instantiates-uri:above', 'http://ks.gov/protocol/a/b/c']], ['cp1']],
  ['CarePlan', [['instantiates-uri:above', 'http://ks.gov/protocol']], []],
  ['CarePlan', [['instantiates-uri:missing', 'true']], ['cp3', 'ks1']],
  // common parameters (search.html#all)
  ['Patient', [['_id', 'p1,p3']], ['p1', 'p3']],
  ['Patient', [['_id:not', 'p1']], ['p2', 'p3']],
  ['Patient', [['_tag', 'urn:ks:tag|waiver-fe']], ['p1']],
  ['Patient', [['_tag:not', 'urn:ks:tag|waiver-fe']], ['p2', 'p3']],
  ['Patient', [['_tag', 'urn:ks:tag|']], ['p1', 'p2']],
  ['Patient', [['_tag', 'waiver-pd,waiver-fe']], ['p1', 'p2']],
  ['Patient', [['_security', 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R']], ['p1']],
  ['Patient', [['_security:missing', 'true']], ['p2', 'p3']],
  ['Patient', [['_profile:missing', 'false']], ['p1']],
  ['Patient', [['_source', 'urn:ks:mco:other']], []],
  ['Patient', [['_profile', 'http://ks.gov/fhir/StructureDefinition/ks-patient']], ['p1']],
  ['Patient', [['_security', 'R']], ['p1']],
  ['Patient', [['_source', 'urn:ks:mco:sunflower']], ['p1']],
  ['Patient', [['_lastUpdated', 'gt2000-01-01']], ['p1', 'p2', 'p3']],
  ['Patient', [['_lastUpdated', 'lt2000-01-01']], []],
  // _contained=false (the default) and _containedType=container are accepted (true/both: contained.test.ts)
  ['Patient', [['_id', 'p1'], ['_contained', 'false'], ['_containedType', 'container']], ['p1']],
  // Kansas SearchParameters from profiles/input/
  ['CarePlan', [['plan-type', 'pcsp']], ['ks1']],
  ['CarePlan', [['plan-type', 'https://kanplan.org/fhir/CodeSystem/ks-plan-type|pcsp']], ['ks1']],
  ['CarePlan', [['mco', 'sunflower']], ['ks1']],
  ['CarePlan', [['waiver-program', 'https://kanplan.org/fhir/CodeSystem/ks-waiver-program|fe']], ['ks1']],
  ['CarePlan', [['review-due-date', 'le2025-07-01']], ['ks1']],
  ['CarePlan', [['review-due-date:missing', 'false']], ['ks1']],
  ['Patient', [['_has:CarePlan:subject:mco', 'sunflower']], ['p3']],
  // chaining (search.html#chaining), multi-level
  ['CarePlan', [['subject:Patient.identifier', 'urn:ks:mco|A1']], ['cp1']],
  ['CarePlan', [['subject.name', 'smith']], ['cp2']],
  ['Task', [['focus:CarePlan.subject:Patient.name', 'mull']], ['t1']],
  ['Task', [['focus:CarePlan.patient.birthdate', 'lt1955']], ['t1']],
  ['Task', [['focus:CarePlan.status', 'draft']], ['t2']],
  // reverse chaining (search.html#has), nested
  ['Patient', [['_has:CarePlan:subject:status', 'draft']], ['p2']],
  ['Patient', [['_has:Observation:subject:code', 'http://loinc.org|2345-7']], ['p1', 'p2']],
  ['Patient', [['_has:CarePlan:subject:_has:Task:focus:status', 'requested']], ['p1']],
  ['Patient', [['_has:Task:patient:focus:CarePlan.status', 'draft']], ['p2']],
  ['CarePlan', [['_has:Task:focus:status', 'completed,requested'], ['status', 'active']], ['cp1']],
];

const ERRORS: [string, [string, string][], RegExp][] = [
  ['CarePlan', [['nonsense', 'x']], /Unknown search parameter 'nonsense' for CarePlan/],
  ['CarePlan', [['status:exact', 'active']], /modifier ':exact' does not apply to token/],
  ['CarePlan', [['date', 'yesterday']], /'yesterday' is not a date/],
  ['CarePlan', [['date', '2024-13-01']], /is not a date/],
  ['RiskAssessment', [['probability', 'lots']], /not a number/],
  ['Observation', [['value-quantity', '5|a']], /must be \[prefix\]number/],
  ['CarePlan', [['status:missing', 'maybe']], /takes true or false/],
  ['CarePlan', [['status', '']], /empty value/],
  ['CarePlan', [['status', 'a,,b']], /empty value between commas/],
  ['CarePlan', [['status.name', 'x']], /only reference parameters can be chained/],
  ['CarePlan', [['subject:Goal', 'x']], /Goal is not a target of subject/],
  ['CarePlan', [['subject.nonsense', 'x']], /no target type of subject/],
  ['Patient', [['_has:CarePlan', 'x']], /_has takes _has:Type:reference-parameter:parameter=value/],
  ['Patient', [['_has:Nope:subject:status', 'x']], /Nope is not a resource type/],
  ['Patient', [['_has:CarePlan:status:status', 'x']], /status is not a reference parameter of CarePlan/],
  ['Patient', [['identifier:of-type', 'A1']], /type-system\|type-code\|value/],
  ['Patient', [['_count', '-1']], /_count must be a whole number/],
  ['Patient', [['_sort', 'nonsense']], /Unknown search parameter 'nonsense' for Patient/],
  ['Patient', [['_total', 'some']], /_total must be none, estimate or accurate/],
  ['Patient', [['_summary', 'maybe']], /_summary must be/],
  ['Patient', [['_include', 'Patient:name']], /name is not a reference search parameter of Patient/],
  ['Patient', [['_include', 'garbage']], /use _include=SourceType:reference-parameter/],
  ['Patient', [['_cursor', 'abc']], /_cursor is not a page cursor/],
  ['Patient', [['_contained', 'maybe']], /_contained must be false, true or both/],
  ['Patient', [['_text', 'x']], /not supported/],
  ['Patient', [['_containedType', 'self']], /_containedType must be container or contained/],
  ['Patient', [['_contained', 'true'], ['_sort', 'name']], /_sort cannot be combined with _contained=true/],
  ['Observation', [['code:in', 'http://example.org/ValueSet/x']], /not a ValueSet this server holds/],
  ['Observation', [['code:below', 'http://loinc.org|2345']], /hierarchy of http:\/\/loinc.org is not held/],
  ['Patient', [['name:text', 'x']], /modifier ':text' does not apply to string/],
  ['MolecularSequence', [['chromosome-window-coordinate', '1$2$3']], /is not searchable here/],
  ['Observation', [['code-value-quantity', '2345-7$lots']], /not a number/],
  ['Observation', [['code-value-quantity', '2345-7']], /takes 2 values joined by/],
];

describe.each(searchTestDatabases)('search parameter types on %s', (kind) => {
  let repo: Repository;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    repo = t.repo;
    close = t.close;
    await loadFixtures(repo);
  });
  afterAll(async () => close());

  it.each(CASES)('%s?%j', async (type, params, expected) => {
    expect(matchIds(await search(repo, type, params))).toEqual(expected);
  });

  it.each(ERRORS)('%s?%j is a 400', async (type, params, message) => {
    const err = await search(repo, type, params).then(
      () => undefined,
      (e: unknown) => e as { status: number; outcome: { issue: { diagnostics: string; expression?: string[] }[] } },
    );
    expect(err?.status).toBe(400);
    expect(err?.outcome.issue[0].diagnostics).toMatch(message);
    expect(err?.outcome.issue[0].expression?.[0]).toBeTruthy();
  });

  it('excludes deleted resources and updates index rows on every write', async () => {
    await repo.update({ resourceType: 'Patient', id: 'tmp', name: [{ family: 'Temporary' }] });
    expect(matchIds(await search(repo, 'Patient', [['name', 'temporary']]))).toEqual(['tmp']);
    await repo.update({ resourceType: 'Patient', id: 'tmp', name: [{ family: 'Renamed' }] });
    expect(matchIds(await search(repo, 'Patient', [['name', 'temporary']]))).toEqual([]);
    expect(matchIds(await search(repo, 'Patient', [['name', 'renamed']]))).toEqual(['tmp']);
    await repo.delete('Patient', 'tmp');
    expect(matchIds(await search(repo, 'Patient', [['name', 'renamed']]))).toEqual([]);
    const rows = await repo.db.query<{ n: string | number }>("SELECT count(*) AS n FROM sp_string WHERE resource_id = 'tmp'");
    expect(Number(rows[0].n)).toBe(0);
  });

  it('rolls the index back with the resource when the transaction fails', async () => {
    await expect(
      repo.transaction(async (tx) => {
        await tx.update({ resourceType: 'Patient', id: 'rolled', name: [{ family: 'Rollback' }] });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(matchIds(await search(repo, 'Patient', [['name', 'rollback']]))).toEqual([]);
  });
});
