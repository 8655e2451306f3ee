import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { checkRepresentation } from '../../src/validation/json-representation.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';

/** R4 JSON representation rules (https://hl7.org/fhir/R4/json.html) and ids (datatypes.html#id), issue 21. */

const errors = (issues: OperationOutcomeIssue[]): [string | undefined, string | undefined][] =>
  issues.filter((i) => i.severity === 'error').map((i) => [i.expression?.[0], i.details?.text]);

describe('the JSON representation of a resource', () => {
  let validator: ResourceValidator;
  beforeAll(() => {
    validator = createResourceValidator(loadConformance());
  });
  const check = (r: unknown): OperationOutcomeIssue[] => validator.validate(r as Resource);

  it('reports a value whose JSON shape is not its element\'s with the path, and nothing reads it further (blocking)', () => {
    const cases: [unknown, string, string][] = [
      [{ resourceType: 'Patient', meta: { profile: 'http://example.org/p' } }, 'Patient.meta.profile', 'expected an array, got a string'],
      [{ resourceType: 'Patient', gender: 'male', _gender: 'x' }, 'Patient.gender', '_gender must be an object'],
      [{ resourceType: 'Patient', gender: 'male', _gender: { value: 1 } }, 'Patient.gender', 'may only have id and extension'],
      [{ resourceType: 'Patient', name: { family: 'Testperson' } }, 'Patient.name', 'expected an array, got an object'],
      [{ resourceType: 'Patient', gender: ['male'] }, 'Patient.gender', 'expected a single value, got an array'],
      [{ resourceType: 'Patient', active: null }, 'Patient.active', 'null is not allowed'],
      [{ resourceType: 'Patient', name: [{ given: ['A', null] }] }, 'Patient.name[0].given[1]', 'null is only allowed in a primitive array'],
      [{ resourceType: 'Patient', name: [{ given: ['A'], _given: [null, {}] }] }, 'Patient.name[0].given', 'as many entries'],
      [{ resourceType: 'Patient', gender: { code: 'male' } }, 'Patient.gender', 'expected a code value'],
      [{ resourceType: 'Patient', contained: [5] }, 'Patient.contained[0]', 'expected a resource'],
      [{ resourceType: 'Patient', contained: [{ resourceType: 'Nonsense' }] }, 'Patient.contained[0]', 'not an R4 resource type'],
      [{ resourceType: 'Patient', _name: {} }, 'Patient._name', 'name is not a primitive element'],
    ];
    for (const [resource, path, text] of cases) {
      const findings = checkRepresentation(resource);
      expect(findings.blocking, path).toBe(true);
      const issues = check(resource);
      expect(issues[0]?.expression, JSON.stringify(resource)).toEqual([path]);
      expect(issues[0]?.details?.text).toContain(text);
    }
  });

  it('accepts null in a primitive array as the placeholder for an entry with an element, and an extension on a primitive', () => {
    const patient = {
      resourceType: 'Patient',
      name: [{ given: ['Ada', null], _given: [null, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier', valueCode: 'CL' }] }] }],
      birthDate: '1970-01-01',
      _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1970-01-01T08:30:00Z' }] },
    };
    expect(checkRepresentation(patient).issues).toEqual([]);
    expect(errors(check(patient))).toEqual([]);
  });

  it('refuses empty arrays and empty objects and an extension on Resource.id, and still validates the rest', () => {
    expect(errors(check({ resourceType: 'Patient', name: [], gender: 'bogus' }))).toEqual([
      ['Patient.name', 'Patient.name: an empty array is not allowed; leave the element out'],
      ['Patient.gender', "Patient.gender: 'bogus' is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1"],
    ]);
    expect(errors(check({ resourceType: 'Patient', name: [{}] }))).toEqual([
      ['Patient.name[0]', 'Patient.name[0]: an empty object is not allowed; leave the element out'],
    ]);
    expect(errors(check({ resourceType: 'Patient', id: 'a1', _id: { extension: [{ url: 'http://example.org/x', valueString: 'y' }] } }))).toEqual([
      ['Patient.id', 'Patient.id: Resource.id cannot have extensions or an element id (_id)'],
    ]);
  });

  it('requires ids of 1 to 64 letters, digits, - and . on the resource, its contained resources and resources in a Bundle', () => {
    for (const bad of ['bad-id_1', 'bad id', 'x'.repeat(65), 'a/b', 'a=b', '']) {
      expect(errors(check({ resourceType: 'Patient', id: bad })), bad).toEqual([
        ['Patient.id', `Patient.id: ${JSON.stringify(bad)} is not a valid id (1 to 64 of A-Z, a-z, 0-9, '-' and '.')`],
      ]);
    }
    expect(errors(check({ resourceType: 'Patient', id: 'A-z.09', contained: [{ resourceType: 'Organization', id: 'org 1', name: 'x' }], managingOrganization: { reference: '#org 1' } })).map((e) => e[0])).toContain(
      'Patient.contained[0].id',
    );
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0b8f0a54-2d0c-4f39-8a43-5b7f0f7c2d11', resource: { resourceType: 'Patient', id: 'x'.repeat(90) } }] };
    expect(errors(check(bundle)).map((e) => e[0])).toEqual(['Bundle.entry[0].resource.id']);
    expect(errors(check({ resourceType: 'Patient', id: 'x'.repeat(64) }))).toEqual([]);
  });
});
