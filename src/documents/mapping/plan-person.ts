import type { Identifier, Patient } from '@medplum/fhirtypes';
import { identifierSystem } from '../canonical.ts';
import type { PersonReference } from '../common-types.ts';
import { humanNameFromFhir } from './fhir-elements.ts';
import { requireValue } from './stored-plan.ts';

/**
 * The person a plan is for, by KanCare Medicaid ID: the PCSP writes the Patient with this
 * identifier (pcsp/person.ts); a BSP or ISP finds it by a conditional reference on it.
 */

export function medicaidIdentifier(medicaidId: string): Identifier {
  return { system: identifierSystem.medicaidId, value: medicaidId };
}

/** The person as a BSP or ISP names them, read back from the stored Patient. */
export function personReferenceFrom(patient: Patient | undefined): PersonReference {
  const found = requireValue(patient, 'the Patient');
  return {
    medicaidId: requireValue(found.identifier?.find((i) => i.system === identifierSystem.medicaidId)?.value, 'the Medicaid id'),
    name: humanNameFromFhir(found.name?.[0]),
    birthDate: requireValue(found.birthDate, 'the birth date'),
  };
}
