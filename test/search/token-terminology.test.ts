import type { Bundle, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repository } from '../../src/store/repository.ts';
import { openSearchTestDatabase, searchTestDatabases } from './db.ts';
import { matchIds, search } from './fixtures.ts';

/**
 * Token searches that need terminology (https://hl7.org/fhir/R4/search.html#token, #modifiers):
 * `:in`, `:not-in`, `:below`, `:above` from the local code systems and value sets, `system|code`
 * on `code` elements with their implied system, `:text` on words anywhere, and versioned
 * canonical references (search.html#versions). Fictional resources.
 */
const ROLE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const GENDER = 'http://hl7.org/fhir/administrative-gender';
const Q = 'http://ks.example.org/fhir/Questionnaire/basis-fictional';

const relatedPerson = (id: string, code: string): Resource => ({
  resourceType: 'RelatedPerson', id, patient: { reference: 'Patient/pf' }, relationship: [{ coding: [{ system: ROLE, code }] }],
});

const RESOURCES: Resource[] = [
  { resourceType: 'Patient', id: 'pf', gender: 'female' },
  { resourceType: 'Patient', id: 'pm', gender: 'male' },
  { resourceType: 'Patient', id: 'pn' },
  relatedPerson('rp-mother', 'MTH'),
  relatedPerson('rp-son', 'SONADOPT'),
  relatedPerson('rp-family', 'FAMMEMB'),
  relatedPerson('rp-friend', 'FRND'),
  {
    resourceType: 'Observation', id: 'o-lab', status: 'final',
    category: [{ coding: [{ system: OBS_CATEGORY, code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' }] },
  },
  {
    resourceType: 'Observation', id: 'o-local', status: 'final',
    category: [{ coding: [{ system: 'urn:ks:fictional', code: 'misc' }] }],
    code: { coding: [{ system: 'urn:ks:fictional', code: 'x' }], text: 'Daily-living support (self-reported)' },
  },
  { resourceType: 'QuestionnaireResponse', id: 'qr2', status: 'completed', questionnaire: `${Q}|2.0` },
  { resourceType: 'QuestionnaireResponse', id: 'qr3', status: 'completed', questionnaire: `${Q}|3.0` },
  { resourceType: 'QuestionnaireResponse', id: 'qr-any', status: 'completed', questionnaire: Q },
  { resourceType: 'Task', id: 't-req', status: 'requested', intent: 'order', owner: { reference: 'Practitioner/pr-fictional' } },
  { resourceType: 'Task', id: 't-done', status: 'completed', intent: 'order', owner: { reference: 'Practitioner/pr-fictional' } },
];

const CASES: [string, [string, string][], string[]][] = [
  // system|code on a code element: its required binding's system is implied (datatypes.html#code)
  ['Patient', [['gender', `${GENDER}|female`]], ['pf']],
  ['Patient', [['gender', `${GENDER}|female,${GENDER}|male`]], ['pf', 'pm']],
  ['Patient', [['gender', `${GENDER}|`]], ['pf', 'pm']],
  ['Patient', [['gender', 'http://example.org/other|female']], []],
  ['Patient', [['gender', '|female']], ['pf']],
  ['Patient', [['gender:not', `${GENDER}|female`]], ['pm', 'pn']],
  ['Task', [['owner', 'Practitioner/pr-fictional'], ['status', 'http://hl7.org/fhir/task-status|requested']], ['t-req']],
  // :in / :not-in with a value set's canonical URL
  ['Patient', [['gender:in', 'http://hl7.org/fhir/ValueSet/administrative-gender']], ['pf', 'pm']],
  ['Patient', [['gender:not-in', 'http://hl7.org/fhir/ValueSet/administrative-gender']], ['pn']],
  ['Observation', [['category:in', 'http://hl7.org/fhir/ValueSet/observation-category']], ['o-lab']],
  ['Observation', [['category:not-in', 'http://hl7.org/fhir/ValueSet/observation-category|4.0.1']], ['o-local']],
  // observation-codes includes all of LOINC, which is not held: any LOINC code is a member
  ['Observation', [['code:in', 'http://hl7.org/fhir/ValueSet/observation-codes']], ['o-lab']],
  // :below / :above in the code system's hierarchy (v3 RoleCode: FAMMEMB > CHILD > ... > SONADOPT, FAMMEMB > PRN > MTH)
  ['RelatedPerson', [['relationship:below', `${ROLE}|FAMMEMB`]], ['rp-family', 'rp-mother', 'rp-son']],
  ['RelatedPerson', [['relationship:below', `${ROLE}|MTH`]], ['rp-mother']],
  ['RelatedPerson', [['relationship:above', `${ROLE}|MTH`]], ['rp-family', 'rp-mother']],
  ['RelatedPerson', [['relationship:above', `${ROLE}|FRND`]], ['rp-friend']],
  ['Patient', [['gender:below', 'female']], ['pf']],
  // :text: every word starts a word anywhere in the display or text, in any order
  ['Observation', [['code:text', 'serum glucose']], ['o-lab']],
  ['Observation', [['code:text', 'volume']], ['o-lab']],
  ['Observation', [['code:text', 'self-reported']], ['o-local']],
  ['Observation', [['code:text', 'reported']], ['o-local']],
  ['Observation', [['code:text', 'living daily']], ['o-local']],
  ['Observation', [['code:text', 'lucose']], []],
  ['Observation', [['code:text', 'glucose daily']], []],
  // canonical references: url alone is any version, url|version that version
  ['QuestionnaireResponse', [['questionnaire', Q]], ['qr-any', 'qr2', 'qr3']],
  ['QuestionnaireResponse', [['questionnaire', `${Q}|2.0`]], ['qr2']],
  ['QuestionnaireResponse', [['questionnaire', `${Q}|4.0`]], []],
];

const ERRORS: [string, [string, string][], RegExp][] = [
  ['Patient', [['gender:in', 'http://example.org/ValueSet/unknown']], /not a ValueSet this server holds/],
  ['Observation', [['code:in', 'http://hl7.org/fhir/ValueSet/clinical-findings']], /cannot be expanded from local content/],
  ['Observation', [['code:below', 'http://loinc.org|2345-7']], /hierarchy of http:\/\/loinc.org is not held/],
  ['RelatedPerson', [['relationship:below', `${ROLE}|NOT-A-CODE`]], /has no code 'NOT-A-CODE'/],
  ['RelatedPerson', [['relationship:below', 'FAMMEMB']], /takes system\|code/],
  ['Patient', [['name:in', 'http://hl7.org/fhir/ValueSet/administrative-gender']], /modifier ':in' does not apply to string/],
];

describe.each(searchTestDatabases)('token terminology searches on %s', (kind) => {
  let repo: Repository;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const t = await openSearchTestDatabase(kind);
    repo = t.repo;
    close = t.close;
    for (const resource of RESOURCES) await repo.update(resource as Resource & { id: string });
  });
  afterAll(async () => close());

  it.each(CASES)('%s?%j', async (type, params, expected) => {
    expect(matchIds(await search(repo, type, params))).toEqual(expected);
  });

  it.each(ERRORS)('%s?%j is a 400 naming the parameter', async (type, params, message) => {
    const err = await search(repo, type, params).then(
      () => undefined,
      (e: unknown) => e as { status: number; outcome: { issue: { diagnostics: string; expression?: string[] }[] } },
    );
    expect(err?.status).toBe(400);
    expect(err?.outcome.issue[0].diagnostics).toMatch(message);
    expect(err?.outcome.issue[0].expression).toEqual([params[0][0]]);
  });

  it('ignores a bad _type entry with a warning under lenient handling, and refuses it otherwise', async () => {
    const lenient: Bundle = await search(repo, [], [['_type', 'Patient,Nope'], ['gender', 'male']], { lenient: true });
    expect(matchIds(lenient)).toEqual(['pm']);
    const outcome = lenient.entry?.find((e) => e.search?.mode === 'outcome')?.resource as { issue: { severity: string; diagnostics: string }[] };
    expect(outcome.issue).toEqual([expect.objectContaining({ severity: 'warning', diagnostics: expect.stringContaining('Nope is not an R4 resource type') })]);
    await expect(search(repo, [], [['_type', 'Patient,Nope']])).rejects.toMatchObject({ status: 400 });
    // Nothing left to search is a 400 even under lenient handling (not a search of every type).
    await expect(search(repo, [], [['_type', 'Nope']], { lenient: true })).rejects.toMatchObject({ status: 400 });
  });

  it('refuses a compartment search for a type outside the compartment, or a compartment it does not define', async () => {
    const outside = await search(repo, ['Practitioner'], [], { compartment: { resourceType: 'Patient', id: 'pf' } }).catch((e: unknown) => e as { status: number; outcome: { issue: { diagnostics: string }[] } });
    expect(outside).toMatchObject({ status: 400 });
    expect((outside as { outcome: { issue: { diagnostics: string }[] } }).outcome.issue[0].diagnostics).toContain('Practitioner is not in the Patient compartment');
    const typed = await search(repo, [], [['_type', 'RelatedPerson,Practitioner']], { compartment: { resourceType: 'Patient', id: 'pf' }, lenient: true });
    expect(matchIds(typed)).toEqual(['rp-family', 'rp-friend', 'rp-mother', 'rp-son']);
    await expect(search(repo, ['Encounter'], [], { compartment: { resourceType: 'Practitioner', id: 'pr-fictional' } })).rejects.toMatchObject({ status: 400 });
  });
});
