import type { DatasetIds } from './dataset.ts';
import { memberDocuments } from './dataset.ts';

/** One request shape: a path (and body) drawn anew for every request. */
export interface Scenario {
  readonly name: string;
  /** Also run against the Medplum peer (reads and searches it can answer). */
  readonly peer: boolean;
  readonly connections: readonly number[];
  next(ids: DatasetIds): { method: 'GET' | 'POST' | 'PUT'; path: string; body?: string; contentType?: string };
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)];
const PLAN_TYPE = 'https://kanplan.org/fhir/CodeSystem/ks-plan-type';
const MEDICAID = 'https://kanplan.org/fhir/sid/ks-medicaid-id';
let importCounter = 0;

const search = (name: string, connections: readonly number[], path: (ids: DatasetIds) => string): Scenario => ({
  name,
  peer: true,
  connections,
  next: (ids) => ({ method: 'GET', path: path(ids) }),
});

export const READ_AND_SEARCH: readonly Scenario[] = [
  search('read CarePlan by id', [1, 10, 50], (ids) => `/CarePlan/${pick(ids.carePlans)}`),
  search('CarePlan?patient=&category=', [10], (ids) => `/CarePlan?patient=Patient/${pick(ids.patients)}&category=${PLAN_TYPE}|pcsp`),
  search('Goal?patient=', [10], (ids) => `/Goal?patient=Patient/${pick(ids.patients)}`),
  search('ServiceRequest?patient=&category=&authored=', [10], (ids) => `/ServiceRequest?patient=Patient/${pick(ids.patients)}&category=http://snomed.info/sct|409063005&authored=ge2020-01-01`),
  search('Task?owner=&status=&_sort=-_lastUpdated', [10], (ids) => `/Task?owner=PractitionerRole/${pick(ids.owners)}&status=requested&_sort=-_lastUpdated`),
  search('CarePlan?subject:Patient.identifier= (chained)', [10], (ids) => `/CarePlan?subject:Patient.identifier=${MEDICAID}|${pick(ids.medicaidIds)}`),
  search('CarePlan?patient=&_revinclude=Provenance:target', [10], (ids) => `/CarePlan?patient=Patient/${pick(ids.patients)}&_revinclude=Provenance:target`),
];

/** New members' PCSPs through $import-document (the transaction path). */
export const IMPORT: Scenario = {
  name: 'import PCSP document ($import-document)',
  peer: false,
  connections: [1, 10],
  next: () => {
    importCounter += 1;
    const [pcsp] = memberDocuments(5_000_000 + importCounter + Math.floor(Math.random() * 1e6));
    return { method: 'POST', path: '/CarePlan/$import-document', body: pcsp.body, contentType: 'application/json' };
  },
};

const newGoal = (ids: DatasetIds): string =>
  JSON.stringify({
    resourceType: 'Goal',
    lifecycleStatus: 'proposed',
    description: { text: 'Take the bus to the library on my own' },
    subject: { reference: `Patient/${pick(ids.patients)}` },
  });

/**
 * Validated single-resource writes, also run against the peer (which validates every write too
 * but keeps nothing durable): a create, and an update of a Goal the scenario owns (PUT at an id
 * of its own, so the first PUT of each creates it and every later one is an update).
 */
let updateCounter = 0;
export const WRITES: readonly Scenario[] = [
  { name: 'create Goal', peer: true, connections: [10], next: (ids) => ({ method: 'POST', path: '/Goal', body: newGoal(ids), contentType: 'application/fhir+json' }) },
  {
    name: 'update Goal (PUT)',
    peer: true,
    connections: [10],
    next: (ids) => {
      updateCounter += 1;
      const id = `bench-goal-${updateCounter % 50}`;
      const goal = { ...(JSON.parse(newGoal(ids)) as object), id, subject: { reference: `Patient/${ids.patients[updateCounter % 50 % ids.patients.length]}` }, note: [{ text: `revision ${updateCounter}` }] };
      return { method: 'PUT', path: `/Goal/${id}`, body: JSON.stringify(goal), contentType: 'application/fhir+json' };
    },
  },
];

/** 70% reads and searches, 30% validated writes (new Goals for existing members). */
export const MIXED: Scenario = {
  name: 'mixed 70% read/search, 30% write',
  peer: false,
  connections: [10],
  next: (ids) => {
    if (Math.random() < 0.3) return WRITES[0].next(ids);
    return pick(READ_AND_SEARCH.slice(0, 4)).next(ids);
  },
};
