import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';

/** A canonical naming a definition the server holds, of a type its element does not allow (references.html#canonical). */

const errors = (issues: OperationOutcomeIssue[]): string[] => issues.filter((i) => i.severity === 'error').map((i) => i.details?.text ?? '');

describe('canonical targets', () => {
  let validator: ResourceValidator;
  beforeAll(() => {
    validator = createResourceValidator(loadConformance());
  });
  const check = (r: object): string[] => errors(validator.validate(r as Resource));

  it('refuses a questionnaire that is a held ValueSet, and an answer value set that is a held CodeSystem', () => {
    expect(check({ resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://hl7.org/fhir/ValueSet/example-extensional' })).toEqual([
      'QuestionnaireResponse.questionnaire: http://hl7.org/fhir/ValueSet/example-extensional is a ValueSet (a definition this server holds); this element refers to a Questionnaire',
    ]);
    expect(check({ resourceType: 'Questionnaire', status: 'draft', item: [{ linkId: '1', type: 'choice', answerValueSet: 'http://hl7.org/fhir/administrative-gender' }] })).toEqual([
      'Questionnaire.item[0].answerValueSet: http://hl7.org/fhir/administrative-gender is a CodeSystem (a definition this server holds); this element refers to a ValueSet',
    ]);
  });

  it('refuses a meta.profile that names a Kansas ValueSet rather than a profile', () => {
    const vs = loadConformance().kansas.valueSets[0]?.url as string;
    expect(check({ resourceType: 'Patient', meta: { profile: [vs] } })).toContainEqual(expect.stringContaining('Patient.meta.profile[0]'));
  });

  it('accepts held definitions of an allowed type (with a version), unknown URLs and contained references', () => {
    expect(check({ resourceType: 'Questionnaire', status: 'draft', item: [{ linkId: '1', type: 'choice', answerValueSet: 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1' }] })).toEqual([]);
    expect(check({ resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'https://example.org/fhir/Questionnaire/unknown' })).toEqual([]);
    expect(check({ resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/p' }, instantiatesCanonical: ['http://hl7.org/fhir/ValueSet/administrative-gender-unknown'] })).toEqual([]);
    expect(check({ resourceType: 'Patient', meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] } }).filter((t) => t.includes('refers to'))).toEqual([]);
  });
});
