import type { Patient } from '@medplum/fhirtypes';
import { codeSystem, decisionMakerCodes, externalSystem, identifierSystem, profileUrl } from '../canonical.ts';
import { codeIn, concept, fullName, humanNameFromFhir, humanNameToFhir } from '../mapping/fhir-elements.ts';
import { compact } from '../mapping/optional-fields.ts';
import { medicaidIdentifier } from '../mapping/plan-person.ts';
import { requireValue } from '../mapping/stored-plan.ts';
import type { DecisionMaker, PcspDocument, PersonDemographics } from './pcsp-types.ts';

/**
 * The PCSP's person and decision maker ↔ the KS Patient. The PCSP owns the demographics; a BSP or
 * ISP only refers to the Patient by Medicaid ID.
 */

/** eLTSS Beneficiary Demographics → KS Patient; the guardian is a Patient.contact (CATALOG ks-patient). */
export function patientResource(doc: PcspDocument): Patient {
  const { person, decisionMaker } = doc;
  const patient: Patient = {
    resourceType: 'Patient',
    meta: { profile: [profileUrl.patient] },
    identifier: [medicaidIdentifier(person.medicaidId)],
    active: true,
    name: [humanNameToFhir(person.name)],
    gender: person.gender,
    birthDate: person.birthDate,
  };
  if (person.phone) {
    patient.telecom = [{ system: 'phone', value: person.phone }];
  }
  if (person.address) {
    const { line, city, state, postalCode, county } = person.address;
    patient.address = [{ line: [...line], city, state, postalCode, ...(county ? { district: county } : {}) }];
  }
  if (person.preferredLanguage) {
    patient.communication = [{ language: concept('urn:ietf:bcp:47', person.preferredLanguage), preferred: true }];
  }
  if (decisionMaker) {
    const codes = decisionMakerCodes[decisionMaker.relationship];
    patient.contact = [
      {
        // One concept: the Kansas role, the exact v3 relationship, and v2-0131 "contact person"
        // so that the R4 contact-relationship binding is met too.
        relationship: [
          {
            coding: [
              { system: codeSystem.decisionMakerRole, code: codes.ksCode },
              { system: externalSystem.roleCode, code: codes.roleCode },
              { system: externalSystem.contactRole, code: 'CP' },
            ],
          },
        ],
        name: humanNameToFhir(decisionMaker.name),
        ...(decisionMaker.phone ? { telecom: [{ system: 'phone' as const, value: decisionMaker.phone }] } : {}),
      },
    ];
  }
  return patient;
}

/** Who gives consent for the person when not the person: named on their Consents. */
export function decisionMakerName(doc: PcspDocument): string | undefined {
  return doc.decisionMaker ? fullName(doc.decisionMaker.name) : undefined;
}

export function personFrom(patient: Patient): PersonDemographics {
  const medicaidId = requireValue(patient.identifier?.find((i) => i.system === identifierSystem.medicaidId)?.value, 'the Medicaid id');
  const address = patient.address?.[0];
  return compact({
    medicaidId,
    name: humanNameFromFhir(patient.name?.[0]),
    birthDate: requireValue(patient.birthDate, 'the birth date'),
    gender: requireValue(patient.gender, 'the gender'),
    phone: patient.telecom?.find((t) => t.system === 'phone')?.value,
    address: address
      ? compact({
          line: [...(address.line ?? [])],
          city: requireValue(address.city, 'the city'),
          state: requireValue(address.state, 'the state'),
          postalCode: requireValue(address.postalCode, 'the postal code'),
          county: address.district,
        })
      : undefined,
    preferredLanguage: patient.communication?.[0]?.language?.coding?.[0]?.code,
  });
}

export function decisionMakerFrom(patient: Patient): DecisionMaker | undefined {
  const contact = patient.contact?.find((c) => codeIn(c.relationship, codeSystem.decisionMakerRole) !== undefined);
  if (!contact) {
    return undefined;
  }
  const roleCode = codeIn(contact.relationship, externalSystem.roleCode);
  const relationship = (Object.keys(decisionMakerCodes) as (keyof typeof decisionMakerCodes)[]).find((k) => decisionMakerCodes[k].roleCode === roleCode);
  return compact({
    name: humanNameFromFhir(contact.name),
    relationship: requireValue(relationship, 'the decision maker relationship'),
    phone: contact.telecom?.find((t) => t.system === 'phone')?.value,
  });
}
