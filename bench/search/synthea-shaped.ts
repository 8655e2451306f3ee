import type { Resource } from '@medplum/fhirtypes';

/**
 * A fictional, Synthea-shaped clinical data set for the US Core per-patient searches (issue 23):
 * patients with Encounters, laboratory and vital-sign Observations, DiagnosticReports, Procedures,
 * Conditions, MedicationRequests, Immunizations, CarePlans and Goals, shaped like what Synthea
 * writes (LOINC, SNOMED CT, RxNorm and CVX codings; US Core categories). One patient, the "long
 * history" patient, has many times the Observations of the others, as a chronically ill person's
 * record does; a token value most rows share (`category=laboratory`) against one patient's rows is
 * the shape issue 23 is about. Deterministic: the same options give the same resources.
 * Nothing here is real: names, ids and values are made up.
 *
 * Used small by test/search/patient-plans.test.ts and large by bench/search/us-core-bench.ts.
 */
export interface SyntheaShapedOptions {
  /** How many patients (the first is the long-history one). */
  readonly patients: number;
  /** Observations of the long-history patient (half laboratory, half vital signs). */
  readonly longHistoryObservations: number;
  /** Observations of every other patient. */
  readonly observationsPerPatient: number;
  /**
   * Synthea's per-encounter records as well (https://github.com/synthetichealth/synthea, its FHIR
   * R4 exporter): a Claim and an ExplanationOfBenefit for every Encounter, a Procedure at every
   * second and an Immunization at every fourth. Off unless asked (the search data sets predate it).
   */
  readonly encounterRecords?: boolean;
}

export type GeneratedResource = Resource & { id: string };

/** The long-history patient's id (the first patient). */
export const LONG_HISTORY_PATIENT = 'syn-p0';

export function patientId(n: number): string {
  return `syn-p${n}`;
}

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const UCUM = 'http://unitsofmeasure.org';

/** Laboratory tests (LOINC) a metabolic panel and a lipid panel report, with a typical value. */
const LAB_TESTS: readonly [string, string, number, string][] = [
  ['2339-0', 'Glucose', 92, 'mg/dL'],
  ['6299-2', 'Urea nitrogen', 14, 'mg/dL'],
  ['38483-4', 'Creatinine', 1.1, 'mg/dL'],
  ['49765-1', 'Calcium', 9.4, 'mg/dL'],
  ['2947-0', 'Sodium', 140, 'mmol/L'],
  ['6298-4', 'Potassium', 4.2, 'mmol/L'],
  ['2069-3', 'Chloride', 104, 'mmol/L'],
  ['20565-8', 'Carbon dioxide', 25, 'mmol/L'],
  ['2093-3', 'Cholesterol', 180, 'mg/dL'],
  ['2571-8', 'Triglycerides', 130, 'mg/dL'],
];
/** Vital signs (LOINC, the FHIR vital-signs profiles' codes). */
const VITAL_SIGNS: readonly [string, string, number, string][] = [
  ['8302-2', 'Body height', 170, 'cm'],
  ['29463-7', 'Body weight', 78, 'kg'],
  ['39156-5', 'Body mass index', 26.9, 'kg/m2'],
  ['8867-4', 'Heart rate', 72, '/min'],
  ['9279-1', 'Respiratory rate', 15, '/min'],
  ['8310-5', 'Body temperature', 37, 'Cel'],
];
const CONDITIONS: readonly [string, string][] = [
  ['44054006', 'Diabetes mellitus type 2'],
  ['38341003', 'Hypertensive disorder'],
  ['195662009', 'Acute viral pharyngitis'],
  ['10509002', 'Acute bronchitis'],
];
const PROCEDURES: readonly [string, string][] = [
  ['710824005', 'Assessment of health and social care needs'],
  ['430193006', 'Medication reconciliation'],
  ['171207006', 'Depression screening'],
];
const MEDICATIONS: readonly [string, string][] = [
  ['860975', 'Metformin hydrochloride 500 MG Oral Tablet'],
  ['314076', 'Lisinopril 10 MG Oral Tablet'],
];
const VACCINES: readonly [string, string][] = [
  ['140', 'Influenza, seasonal, injectable, preservative free'],
  ['113', 'Td (adult) preservative free'],
];

/** A small deterministic pseudo-random sequence (no state shared between calls). */
function sequence(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A day in 2015..2025 as an instant (Synthea writes effectiveDateTime with a time and offset). */
function instant(day: number, hour: number): string {
  const date = new Date(Date.UTC(2015, 0, 1) + day * 86_400_000 + hour * 3_600_000);
  return date.toISOString().replace('.000Z', '+00:00');
}

function coding(system: string, [code, display]: readonly [string, string, ...unknown[]]): { coding: { system: string; code: string; display: string }[]; text: string } {
  return { coding: [{ system, code, display }], text: display };
}

/**
 * The resources of patient `n`, Patient first and every reference pointing to an earlier
 * resource, so one transaction per patient loads them in order.
 */
export function syntheaShapedPatient(n: number, options: SyntheaShapedOptions): GeneratedResource[] {
  const random = sequence(n * 7919 + 17);
  const id = patientId(n);
  const subject = { reference: `Patient/${id}` };
  const out: GeneratedResource[] = [
    {
      resourceType: 'Patient', id,
      identifier: [{ system: 'urn:example:synthea-shaped', value: `SYN-${String(n).padStart(5, '0')}` }],
      name: [{ family: `Example${n}`, given: ['Test'] }],
      gender: n % 2 ? 'female' : 'male',
      birthDate: `19${String(40 + (n % 55)).padStart(2, '0')}-0${(n % 9) + 1}-15`,
    },
  ];
  const observations = n === 0 ? options.longHistoryObservations : options.observationsPerPatient;
  // One encounter per ~8 Observations (a visit with vitals and a panel), at least two.
  const encounters = Math.max(2, Math.ceil(observations / 8));
  const encounterDays: number[] = [];
  for (let e = 0; e < encounters; e++) {
    const day = Math.floor((e * 3650) / encounters + random() * 20);
    encounterDays.push(day);
    out.push({
      resourceType: 'Encounter', id: `${id}-enc${e}`, status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      type: [coding(SNOMED, ['185349003', 'Encounter for check up'])],
      subject,
      period: { start: instant(day, 9), end: instant(day, 10) },
    } as GeneratedResource);
  }
  const labIds: string[][] = encounterDays.map(() => []);
  for (let o = 0; o < observations; o++) {
    const e = o % encounters;
    const lab = o % 2 === 0;
    const tests = lab ? LAB_TESTS : VITAL_SIGNS;
    const [code, display, typical, unit] = tests[Math.floor(o / 2) % tests.length];
    const obsId = `${id}-obs${o}`;
    if (lab) labIds[e].push(obsId);
    out.push({
      resourceType: 'Observation', id: obsId, status: 'final',
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: lab ? 'laboratory' : 'vital-signs', display: lab ? 'Laboratory' : 'Vital signs' }] }],
      code: coding(LOINC, [code, display]),
      subject,
      encounter: { reference: `Encounter/${id}-enc${e}` },
      effectiveDateTime: instant(encounterDays[e], 9),
      issued: instant(encounterDays[e], 11),
      valueQuantity: { value: Math.round(typical * (0.85 + random() * 0.3) * 10) / 10, unit, system: UCUM, code: unit },
    } as GeneratedResource);
  }
  encounterDays.forEach((day, e) => {
    if (!labIds[e].length) return;
    out.push({
      resourceType: 'DiagnosticReport', id: `${id}-dr${e}`, status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB', display: 'Laboratory' }] }],
      code: coding(LOINC, ['51990-0', 'Basic metabolic panel - Blood']),
      subject, encounter: { reference: `Encounter/${id}-enc${e}` },
      effectiveDateTime: instant(day, 9), issued: instant(day, 11),
      result: labIds[e].map((reference) => ({ reference: `Observation/${reference}` })),
    } as GeneratedResource);
  });
  const conditions = 1 + (n % CONDITIONS.length);
  for (let c = 0; c < conditions; c++) {
    out.push({
      resourceType: 'Condition', id: `${id}-cond${c}`,
      clinicalStatus: coding('http://terminology.hl7.org/CodeSystem/condition-clinical', [c % 2 ? 'resolved' : 'active', c % 2 ? 'Resolved' : 'Active']),
      verificationStatus: coding('http://terminology.hl7.org/CodeSystem/condition-ver-status', ['confirmed', 'Confirmed']),
      category: [coding('http://terminology.hl7.org/CodeSystem/condition-category', ['encounter-diagnosis', 'Encounter Diagnosis'])],
      code: coding(SNOMED, CONDITIONS[(n + c) % CONDITIONS.length]),
      subject, encounter: { reference: `Encounter/${id}-enc${c % encounters}` },
      onsetDateTime: instant(encounterDays[c % encounters], 9),
    } as GeneratedResource);
  }
  PROCEDURES.forEach((procedure, p) => {
    out.push({
      resourceType: 'Procedure', id: `${id}-proc${p}`, status: 'completed',
      code: coding(SNOMED, procedure), subject,
      encounter: { reference: `Encounter/${id}-enc${p % encounters}` },
      performedPeriod: { start: instant(encounterDays[p % encounters], 9), end: instant(encounterDays[p % encounters], 10) },
    } as GeneratedResource);
  });
  MEDICATIONS.forEach((medication, m) => {
    out.push({
      resourceType: 'MedicationRequest', id: `${id}-med${m}`, status: m ? 'stopped' : 'active', intent: 'order',
      medicationCodeableConcept: coding('http://www.nlm.nih.gov/research/umls/rxnorm', medication),
      subject, encounter: { reference: `Encounter/${id}-enc${m % encounters}` },
      authoredOn: instant(encounterDays[m % encounters], 10),
    } as GeneratedResource);
  });
  VACCINES.forEach((vaccine, v) => {
    out.push({
      resourceType: 'Immunization', id: `${id}-imm${v}`, status: 'completed',
      vaccineCode: coding('http://hl7.org/fhir/sid/cvx', vaccine),
      patient: subject, encounter: { reference: `Encounter/${id}-enc${v % encounters}` },
      occurrenceDateTime: instant(encounterDays[v % encounters], 10), primarySource: true,
    } as GeneratedResource);
  });
  if (options.encounterRecords) out.push(...encounterRecords(id, encounterDays, random));
  out.push(
    {
      resourceType: 'Goal', id: `${id}-goal0`, lifecycleStatus: 'active',
      description: { text: 'Hemoglobin A1c total in Blood < 7.0' }, subject,
    } as GeneratedResource,
    {
      resourceType: 'CarePlan', id: `${id}-cp0`, status: 'active', intent: 'plan',
      category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category', code: 'assess-plan' }] }, coding(SNOMED, ['698360004', 'Diabetes self management plan'])],
      subject, period: { start: instant(encounterDays[0], 9) },
      goal: [{ reference: `Goal/${id}-goal0` }],
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Care plan</div>' },
    } as GeneratedResource,
  );
  return out;
}

const CLAIM_TYPE = 'http://terminology.hl7.org/CodeSystem/claim-type';
/** Synthea's payer and provider references are conditional on identifiers; display-only here. */
const PAYER = { display: 'Kansas Medicaid (fictional)' };
const PROVIDER = { display: 'Example Community Clinic' };

/**
 * For every Encounter: a Claim for the visit (and the Procedure or Immunization done in it), and
 * the ExplanationOfBenefit adjudicating it, as Synthea bills every encounter.
 */
function encounterRecords(id: string, encounterDays: readonly number[], random: () => number): GeneratedResource[] {
  const subject = { reference: `Patient/${id}` };
  const out: GeneratedResource[] = [];
  encounterDays.forEach((day, e) => {
    const encounter = { reference: `Encounter/${id}-enc${e}` };
    const period = { start: instant(day, 9), end: instant(day, 10) };
    const items: { sequence: number; productOrService: ReturnType<typeof coding>; encounter: { reference: string }[]; net: { value: number; currency: string } }[] = [
      { sequence: 1, productOrService: coding(SNOMED, ['185349003', 'Encounter for check up']), encounter: [encounter], net: { value: 136.8, currency: 'USD' } },
    ];
    if (e % 2 === 0) {
      const procedure = PROCEDURES[(e / 2) % PROCEDURES.length];
      out.push({
        resourceType: 'Procedure', id: `${id}-eproc${e}`, status: 'completed',
        code: coding(SNOMED, procedure), subject, encounter, performedPeriod: period,
      } as GeneratedResource);
      items.push({ sequence: 2, productOrService: coding(SNOMED, procedure), encounter: [encounter], net: { value: 411.5, currency: 'USD' } });
    }
    if (e % 4 === 0) {
      out.push({
        resourceType: 'Immunization', id: `${id}-eimm${e}`, status: 'completed',
        vaccineCode: coding('http://hl7.org/fhir/sid/cvx', VACCINES[(e / 4) % VACCINES.length]),
        patient: subject, encounter, occurrenceDateTime: instant(day, 10), primarySource: true,
      } as GeneratedResource);
    }
    const total = Math.round(items.reduce((sum, item) => sum + item.net.value, 0) * 100) / 100;
    out.push(
      {
        resourceType: 'Claim', id: `${id}-claim${e}`, status: 'active',
        type: coding(CLAIM_TYPE, ['professional', 'Professional']), use: 'claim',
        patient: subject, billablePeriod: period, created: instant(day, 10),
        provider: PROVIDER, priority: coding('http://terminology.hl7.org/CodeSystem/processpriority', ['normal', 'Normal']),
        insurance: [{ sequence: 1, focal: true, coverage: PAYER }],
        item: items, total: { value: total, currency: 'USD' },
      } as GeneratedResource,
      {
        resourceType: 'ExplanationOfBenefit', id: `${id}-eob${e}`, status: 'active',
        type: coding(CLAIM_TYPE, ['professional', 'Professional']), use: 'claim',
        patient: subject, billablePeriod: period, created: instant(day, 10),
        insurer: PAYER, provider: PROVIDER, claim: { reference: `Claim/${id}-claim${e}` }, outcome: 'complete',
        insurance: [{ focal: true, coverage: PAYER }],
        item: items.map(({ sequence, productOrService, encounter: encounters, net }) => ({
          sequence, productOrService, encounter: encounters, net,
          adjudication: [{ category: coding('http://terminology.hl7.org/CodeSystem/adjudication', ['benefit', 'Benefit Amount']), amount: { value: Math.round(net.value * (0.7 + random() * 0.1) * 100) / 100, currency: 'USD' } }],
        })),
        total: [{ category: coding('http://terminology.hl7.org/CodeSystem/adjudication', ['submitted', 'Submitted Amount']), amount: { value: total, currency: 'USD' } }],
        payment: { amount: { value: Math.round(total * 0.75 * 100) / 100, currency: 'USD' } },
      } as GeneratedResource,
    );
  });
  return out;
}

/** Every patient's resources, one array per patient (a transaction each). */
export function syntheaShapedData(options: SyntheaShapedOptions): GeneratedResource[][] {
  return Array.from({ length: options.patients }, (_, n) => syntheaShapedPatient(n, options));
}

/**
 * The US Core 6.1 per-patient searches (SHALL, and the SHOULD combinations an EHR runs)
 * for one patient: https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html.
 */
export function usCorePatientSearches(patient: string): { resourceType: string; params: [string, string][] }[] {
  const s = (resourceType: string, ...params: [string, string][]): { resourceType: string; params: [string, string][] } => ({ resourceType, params: [['patient', patient], ...params] });
  return [
    s('Observation', ['category', 'laboratory']),
    s('Observation', ['category', 'vital-signs']),
    s('Observation', ['code', 'http://loinc.org|2339-0']),
    s('Observation', ['category', 'laboratory'], ['date', 'ge2018-01-01']),
    s('Observation', ['category', 'laboratory'], ['status', 'final']),
    s('Encounter'),
    s('Encounter', ['date', 'ge2018-01-01']),
    s('Procedure'),
    s('Procedure', ['date', 'ge2018-01-01']),
    s('DiagnosticReport', ['category', 'LAB']),
    s('DiagnosticReport', ['code', 'http://loinc.org|51990-0']),
    s('Condition'),
    s('Condition', ['category', 'encounter-diagnosis']),
    s('Condition', ['clinical-status', 'active']),
    s('MedicationRequest', ['intent', 'order']),
    s('MedicationRequest', ['intent', 'order'], ['status', 'active']),
    s('Immunization'),
    s('CarePlan', ['category', 'assess-plan']),
    s('Goal'),
  ];
}
