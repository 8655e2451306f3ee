import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/** Core R4 extensions checked for context and value type; unknown extension URLs reported (issue 21). */

const R4 = 'http://hl7.org/fhir/StructureDefinition';
const found = (issues: OperationOutcomeIssue[]): [string, string | undefined, string | undefined][] =>
  issues.map((i) => [i.severity, i.expression?.[0], i.details?.text]);

describe('core R4 extensions', () => {
  let validator: ResourceValidator;
  let strict: ResourceValidator;
  beforeAll(() => {
    const conformance = loadConformance();
    validator = createResourceValidator(conformance);
    strict = createResourceValidator(conformance, { strictExtensions: true });
  });
  const check = (r: unknown, v = validator): OperationOutcomeIssue[] => v.validate(r as Resource);

  it('refuses a value of a type the definition does not allow (patient-birthPlace with valueString, narrativeLink with valueUri)', () => {
    expect(found(check({ resourceType: 'Patient', extension: [{ url: `${R4}/patient-birthPlace`, valueString: 'Topeka' }] }))).toEqual([
      ['error', 'Patient.extension[0].valueString', `Patient.extension[0].valueString: extension ${R4}/patient-birthPlace takes a value of type Address, not string`],
    ]);
    expect(found(check({ resourceType: 'Patient', extension: [{ url: `${R4}/narrativeLink`, valueUri: '#a' }] }))).toEqual([
      ['error', 'Patient.extension[0].valueUri', `Patient.extension[0].valueUri: extension ${R4}/narrativeLink takes a value of type url, not uri`],
    ]);
    expect(found(check({ resourceType: 'Patient', extension: [{ url: `${R4}/patient-nationality`, extension: [{ url: 'code', valueString: 'x' }] }] }))[0][2]).toContain(
      'patient-nationality#code takes a value of type CodeableConcept, not string',
    );
  });

  it('refuses an extension outside its context, and accepts it in context, also on primitives and datatypes', () => {
    expect(found(check({ resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, extension: [{ url: `${R4}/patient-birthPlace`, valueAddress: { city: 'Topeka' } }] }))).toEqual([
      ['error', 'Observation.extension[0]', `Observation.extension[0]: extension ${R4}/patient-birthPlace is not allowed on Observation; allowed on: Patient`],
    ]);
    const valid = {
      resourceType: 'Patient',
      extension: [{ url: `${R4}/patient-birthPlace`, valueAddress: { city: 'Topeka', state: 'KS' } }],
      name: [{ family: 'Testperson', _family: { extension: [{ url: `${R4}/humanname-own-prefix`, valueString: 'van' }] } }],
      birthDate: '1970-01-01',
      _birthDate: { extension: [{ url: `${R4}/patient-birthTime`, valueDateTime: '1970-01-01T08:30:00Z' }] },
      address: [{ city: 'Topeka', extension: [{ url: `${R4}/geolocation`, extension: [{ url: 'latitude', valueDecimal: 39.05 }, { url: 'longitude', valueDecimal: -95.68 }] }] }],
    };
    expect(found(check(valid))).toEqual([]);
    expect(found(check({ resourceType: 'Patient', gender: 'male', _gender: { extension: [{ url: `${R4}/patient-birthTime`, valueDateTime: '1970-01-01T08:30:00Z' }] } }))[0][2]).toContain(
      'is not allowed on Patient.gender; allowed on: Patient.birthDate',
    );
  });

  it('reports an extension URL nobody defines: a warning by default, an error with STRICT_EXTENSIONS', () => {
    const patient = { resourceType: 'Patient', extension: [{ url: 'https://example.org/fhir/StructureDefinition/favourite-colour', valueString: 'teal' }] };
    const text = 'Patient.extension[0]: extension https://example.org/fhir/StructureDefinition/favourite-colour is not defined by R4 or by a profile this server knows, so its content was not checked';
    expect(found(check(patient))).toEqual([['warning', 'Patient.extension[0]', text]]);
    expect(found(check(patient, strict))).toEqual([['error', 'Patient.extension[0]', text]]);
  });
});

describe.each(testDatabases)('core R4 extensions over HTTP (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a create with a mistyped core extension (422) and stores one with an unknown extension, warning about it', async () => {
    const refused = await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient', extension: [{ url: `${R4}/patient-birthPlace`, valueString: 'Topeka' }] } });
    expect(refused.status).toBe(422);
    expect(refused.body.issue[0].expression).toEqual(['Patient.extension[0].valueString']);
    const stored = await http(server, 'POST', 'Patient', {
      body: { resourceType: 'Patient', extension: [{ url: 'https://example.org/fhir/StructureDefinition/favourite-colour', valueString: 'teal' }] },
      headers: { prefer: 'return=OperationOutcome' },
    });
    expect(stored.status).toBe(201);
    expect(stored.body.issue.map((i: OperationOutcomeIssue) => [i.severity, i.code, i.expression?.[0]])).toEqual([['warning', 'extension', 'Patient.extension[0]']]);
    const validated = await http(server, 'POST', 'Observation/$validate', {
      body: { resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, extension: [{ url: `${R4}/patient-birthPlace`, valueAddress: { city: 'Topeka' } }] },
    });
    expect(validated.status).toBe(200);
    expect(validated.body.issue.map((i: OperationOutcomeIssue) => i.expression?.[0])).toEqual(['Observation.extension[0]']);
  });
});
