import type { SearchParameter } from '@medplum/fhirtypes';

/** A SearchParameter of a test's own, on top of the R4 base and Kansas ones: a patient's nickname. */
export const NICKNAME_PARAMETER: SearchParameter = {
  resourceType: 'SearchParameter',
  url: 'https://example.org/fhir/SearchParameter/patient-nickname',
  name: 'nickname',
  status: 'active',
  description: 'A nickname of the patient',
  code: 'nickname',
  base: ['Patient'],
  type: 'string',
  expression: "Patient.name.where(use = 'nickname').given",
};
