import type { Patient, RelatedPerson, Resource } from '@medplum/fhirtypes';
import { SYSTEM_ACCESS } from '../auth/access.ts';
import type { PatientDirectory } from '../auth/server/interactions.ts';
import type { PatientOption } from '../auth/server/pages.ts';
import type { FhirContext } from '../fhir/context.ts';
import { dispatch } from '../fhir/router.ts';

const PICKER_SIZE = 50;

async function get(ctx: FhirContext, path: string, query: [string, string][] = []): Promise<Resource | undefined> {
  try {
    const response = await dispatch({ ...ctx, access: SYSTEM_ACCESS }, { method: 'GET', path, query, headers: {} });
    return response.status === 200 ? response.resource : undefined;
  } catch {
    return undefined;
  }
}

function optionOf(patient: Patient): PatientOption {
  const name = patient.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return { id: patient.id as string, name: text || `Patient ${patient.id}`, birthDate: patient.birthDate };
}

/** The patient a RelatedPerson is related to (RelatedPerson.patient, 1..1 in R4). */
function relatedPatientId(person: RelatedPerson | undefined): string | undefined {
  return /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(person?.patient?.reference ?? '')?.[1];
}

/**
 * Whom a user may pick in the standalone launch's patient picker, from the FHIR data: a Patient
 * user themself, a RelatedPerson (guardian) their patient, practitioners every patient (the
 * role rules of the workflow issue will narrow this).
 */
export function createPatientDirectory(ctx: FhirContext): PatientDirectory {
  async function ownPatientId(fhirUser: string): Promise<string | undefined | 'all'> {
    const [type, id] = fhirUser.split('/');
    if (type === 'Patient') return id;
    if (type === 'RelatedPerson') return relatedPatientId((await get(ctx, `RelatedPerson/${id}`)) as RelatedPerson | undefined);
    return 'all';
  }
  return {
    async patientsFor(fhirUser, nameFilter) {
      const own = await ownPatientId(fhirUser);
      if (own === undefined) return [];
      if (own !== 'all') {
        const patient = (await get(ctx, `Patient/${own}`)) as Patient | undefined;
        return patient ? [optionOf(patient)] : [];
      }
      const query: [string, string][] = [['_count', String(PICKER_SIZE)], ['_sort', 'family']];
      if (nameFilter) query.push(['name', nameFilter]);
      const bundle = (await get(ctx, 'Patient', query)) as { entry?: { resource?: Patient }[] } | undefined;
      return (bundle?.entry ?? []).flatMap((entry) => (entry.resource ? [optionOf(entry.resource)] : []));
    },
    async mayChoose(fhirUser, patientId) {
      const own = await ownPatientId(fhirUser);
      if (own === 'all') return (await get(ctx, `Patient/${patientId}`)) !== undefined;
      return own === patientId;
    },
  };
}
