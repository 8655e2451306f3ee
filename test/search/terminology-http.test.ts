import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/**
 * Token searches with terminology, versioned canonicals and the history time rules over HTTP with
 * fhir-kit-client (https://hl7.org/fhir/R4/search.html#modifiers, #versions; http.html#history).
 */
const ROLE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const Q = 'http://ks.example.org/fhir/Questionnaire/assessment-fictional';

describe.each(testDatabases)('terminology-backed search over HTTP on %s', (kind) => {
  let server: TestServer;
  const ids: Record<string, string> = {};
  const found = async (resourceType: string, searchParams: Record<string, string>): Promise<string[]> => {
    const bundle = (await server.client.search({ resourceType, searchParams })) as Bundle;
    return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id as string).sort();
  };
  beforeAll(async () => {
    server = await startTestServer(kind);
    const create = async (key: string, body: object): Promise<void> => {
      ids[key] = ((await server.client.create({ resourceType: (body as { resourceType: string }).resourceType, body })) as { id: string }).id;
    };
    await create('member', { resourceType: 'Patient', gender: 'female', name: [{ family: 'Fictionalsen' }] });
    await create('mother', { resourceType: 'RelatedPerson', patient: { reference: 'Patient/x' }, relationship: [{ coding: [{ system: ROLE, code: 'MTH' }], text: 'Mother (legal guardian)' }] });
    await create('neighbor', { resourceType: 'RelatedPerson', patient: { reference: 'Patient/x' }, relationship: [{ coding: [{ system: ROLE, code: 'NBOR' }] }] });
    await create('v1', { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: `${Q}|1` });
    await create('v2', { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: `${Q}|2` });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers :in, :not-in, :below and :above from the local value sets and code system hierarchies', async () => {
    expect(await found('RelatedPerson', { relationship: `${ROLE}|MTH`, _id: `${ids.mother},${ids.neighbor}` })).toEqual([ids.mother]);
    expect(await found('RelatedPerson', { 'relationship:below': `${ROLE}|FAMMEMB`, _id: `${ids.mother},${ids.neighbor}` })).toEqual([ids.mother]);
    expect(await found('RelatedPerson', { 'relationship:above': `${ROLE}|MTH`, _id: `${ids.mother},${ids.neighbor}` })).toEqual([ids.mother]);
    expect(await found('Patient', { 'gender:in': 'http://hl7.org/fhir/ValueSet/administrative-gender', _id: ids.member })).toEqual([ids.member]);
    expect(await found('Patient', { 'gender:not-in': 'http://hl7.org/fhir/ValueSet/administrative-gender', _id: ids.member })).toEqual([]);
  });

  it('matches system|code on a code element with the system its binding implies', async () => {
    expect(await found('Patient', { gender: 'http://hl7.org/fhir/administrative-gender|female', _id: ids.member })).toEqual([ids.member]);
    expect(await found('Patient', { gender: 'urn:ks:other|female', _id: ids.member })).toEqual([]);
  });

  it('matches :text words anywhere in the text, in any order', async () => {
    expect(await found('RelatedPerson', { 'relationship:text': 'guardian legal', _id: `${ids.mother},${ids.neighbor}` })).toEqual([ids.mother]);
    expect(await found('RelatedPerson', { 'relationship:text': 'uardian', _id: `${ids.mother},${ids.neighbor}` })).toEqual([]);
  });

  it('matches a canonical with |version to that version only', async () => {
    expect(await found('QuestionnaireResponse', { questionnaire: Q })).toEqual([ids.v1, ids.v2].sort());
    expect(await found('QuestionnaireResponse', { questionnaire: `${Q}|2` })).toEqual([ids.v2]);
  });

  it('answers 400 with what to send for a value set or hierarchy it cannot expand', async () => {
    const unknown = await http(server, 'GET', `Patient?gender:in=${encodeURIComponent('http://example.org/ValueSet/nope')}`);
    expect(unknown.status).toBe(400);
    expect((unknown.body as OperationOutcome).issue[0]).toMatchObject({ expression: ['gender:in'], diagnostics: expect.stringContaining('not a ValueSet this server holds') });
    const external = await http(server, 'GET', `Observation?code:below=${encodeURIComponent('http://snomed.info/sct|404684003')}`);
    expect(external.status).toBe(400);
    expect((external.body as OperationOutcome).issue[0].code).toBe('not-supported');
    const lenient = await http(server, 'GET', `Patient?gender:in=${encodeURIComponent('http://example.org/ValueSet/nope')}&_id=${ids.member}`, { headers: { prefer: 'handling=lenient' } });
    expect(lenient.status).toBe(200);
    expect((lenient.body as Bundle).entry?.filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id)).toEqual([ids.member]);
  });
});
