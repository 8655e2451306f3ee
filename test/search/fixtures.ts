import type { Bundle, Resource } from '@medplum/fhirtypes';
import { searchResources } from '../../src/search/index.ts';
import type { Repository } from '../../src/store/repository.ts';
import { conformance } from './db.ts';

export const BASE = 'http://example.org/fhir';

/** Ids of the match entries, sorted (or in page order with `ordered`). */
export function matchIds(bundle: Bundle, ordered = false): string[] {
  const list = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id as string);
  return ordered ? list : list.sort();
}

export function search(
  repo: Repository,
  type: string | string[],
  params: [string, string][],
  options: { lenient?: boolean; pageSize?: number; compartment?: { resourceType: string; id: string } } = {},
): Promise<Bundle> {
  return searchResources(conformance, repo, {
    resourceTypes: Array.isArray(type) ? type : [type],
    params,
    baseUrl: BASE,
    lenient: options.lenient ?? false,
    defaultPageSize: options.pageSize ?? 20,
    maxPageSize: 1000,
    compartment: options.compartment,
  });
}

const MR = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] };
const UCUM = 'http://unitsofmeasure.org';

/** A small fictional care-planning data set that exercises every parameter type. */
export const FIXTURES: (Resource & { id: string })[] = [
  {
    resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1950-03-04', active: true,
    meta: { tag: [{ system: 'urn:ks:tag', code: 'waiver-fe' }], profile: ['http://ks.gov/fhir/StructureDefinition/ks-patient'], security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }], source: 'urn:ks:mco:sunflower' },
    name: [{ family: 'Müller', given: ['Ann', 'Marie'] }],
    identifier: [{ system: 'urn:ks:mco', value: 'A1', type: MR }],
    telecom: [{ system: 'phone', value: '785-555-0101' }],
    address: [{ city: 'Topeka', state: 'KS', postalCode: '66603' }],
  },
  {
    resourceType: 'Patient', id: 'p2', gender: 'male', birthDate: '1960',
    meta: { tag: [{ system: 'urn:ks:tag', code: 'waiver-pd' }] },
    name: [{ family: 'Smith', given: ['Bob'] }],
    identifier: [{ system: 'urn:ks:mco', value: 'B2' }],
    address: [{ city: 'Wichita', state: 'KS' }],
  },
  { resourceType: 'Patient', id: 'p3', name: [{ family: 'Ållen', given: ['Cy'] }] },
  {
    resourceType: 'CarePlan', id: 'cp1', status: 'active', intent: 'plan', subject: { reference: 'Patient/p1' },
    period: { start: '2024-01-01', end: '2024-12-31' },
    category: [{ coding: [{ system: 'urn:ks:plan', code: 'pcsp', display: 'Person-centered service plan' }], text: 'PCSP for waiver' }],
    instantiatesUri: ['http://ks.gov/protocol/a'],
    instantiatesCanonical: ['http://ks.gov/fhir/PlanDefinition/pcsp|1.0'],
    goal: [{ reference: 'Goal/g1' }],
  },
  {
    resourceType: 'CarePlan', id: 'cp2', status: 'draft', intent: 'plan', subject: { reference: 'http://example.org/fhir/Patient/p2' },
    period: { start: '2025-01-01' },
    category: [{ coding: [{ system: 'urn:ks:plan', code: 'bsp' }] }],
    instantiatesUri: ['http://ks.gov/other'],
  },
  {
    resourceType: 'CarePlan', id: 'cp3', status: 'active', intent: 'proposal', subject: { reference: 'http://other.example/fhir/Patient/zz' },
    category: [{ coding: [{ system: 'urn:ks:plan', code: 'isp' }] }],
  },
  {
    resourceType: 'CarePlan', id: 'ks1', status: 'on-hold', intent: 'plan', subject: { reference: 'Patient/p3' },
    activity: [{ detail: { status: 'scheduled', scheduledTiming: { event: ['2024-03-01T10:00:00Z', '2024-03-05T10:00:00Z'] } } }],
    category: [{ coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-plan-type', code: 'pcsp' }] }],
    extension: [
      { url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'sunflower' }] } },
      { url: 'https://kanplan.org/fhir/StructureDefinition/ks-waiver-program', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-waiver-program', code: 'fe' }] } },
      { url: 'https://kanplan.org/fhir/StructureDefinition/ks-review-due-date', valueDate: '2025-06-30' },
    ],
  },
  { resourceType: 'Goal', id: 'g1', lifecycleStatus: 'active', subject: { reference: 'Patient/p1' }, description: { text: 'Live at home' }, target: [{ dueDate: '2024-09-30' }] },
  {
    resourceType: 'Task', id: 't1', status: 'requested', intent: 'order', focus: { reference: 'CarePlan/cp1' }, for: { reference: 'Patient/p1' },
    owner: { identifier: { system: 'urn:npi', value: '1234567893' } }, basedOn: [{ reference: 'CarePlan/cp1' }],
  },
  { resourceType: 'Task', id: 't2', status: 'completed', intent: 'order', focus: { reference: 'CarePlan/cp2' }, for: { reference: 'Patient/p2' }, owner: { reference: 'Practitioner/pr1' } },
  { resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'Jones' }], identifier: [{ value: 'NOSYS-1' }] },
  { resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] }, subject: { reference: 'Patient/p1' }, valueQuantity: { value: 5.4, unit: 'mg', system: UCUM, code: 'mg' } },
  { resourceType: 'Observation', id: 'o2', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] }, subject: { reference: 'Patient/p2' }, valueQuantity: { value: 100, unit: 'mg', system: UCUM, code: 'mg' } },
  { resourceType: 'Observation', id: 'o3', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, subject: { reference: 'Patient/p2' }, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '373066001' }] } },
  { resourceType: 'Observation', id: 'o4', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1234-5' }] }, subject: { reference: 'Patient/p3' }, valueDateTime: '2024-05-01' },
  { resourceType: 'RiskAssessment', id: 'ra1', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 0.54 }] },
  { resourceType: 'InsurancePlan', id: 'ip1', name: 'KanCare Sunflower', alias: ['Sunflower Health'] },
  { resourceType: 'RiskAssessment', id: 'ra2', status: 'final', subject: { reference: 'Patient/p2' }, prediction: [{ probabilityDecimal: 0.56 }] },
] as (Resource & { id: string })[];

export async function loadFixtures(repo: Repository): Promise<void> {
  for (const resource of FIXTURES) {
    await repo.update(resource);
  }
}
