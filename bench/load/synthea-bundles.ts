import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { syntheaShapedPatient, type GeneratedResource } from '../search/synthea-shaped.ts';

/**
 * Real-patient-shaped transaction bundles (issue 22): each is one fictional patient's whole record
 * as Synthea exports it (https://github.com/synthetichealth/synthea, FHIR R4 transaction output),
 * the patient with hundreds of Observations, Encounters, Claims, ExplanationOfBenefits,
 * Immunizations and Procedures. Made from the Synthea-shaped tables in bench/search, with the
 * per-encounter records on.
 */

/**
 * A transaction of `resources` in order. `POST`: as Synthea writes it, every entry a create with a
 * `urn:uuid` fullUrl and the bundle's references pointing to those, so the same bundle can be
 * imported any number of times. `PUT`: every entry an update-as-create at the resource's own id.
 */
export function patientTransaction(resources: readonly GeneratedResource[], method: 'POST' | 'PUT'): Bundle {
  if (method === 'PUT') {
    return {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: resources.map((resource): BundleEntry => ({ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
    };
  }
  const fullUrls = new Map(resources.map((resource) => [`${resource.resourceType}/${resource.id}`, `urn:uuid:${crypto.randomUUID()}`]));
  // Every reference the tables write is `Type/id` of an earlier resource in the same record.
  const text = JSON.stringify(resources).replace(/"reference":"([A-Za-z]+\/[^"]+)"/g, (whole, reference: string) => {
    const fullUrl = fullUrls.get(reference);
    return fullUrl ? `"reference":"${fullUrl}"` : whole;
  });
  const rewritten = JSON.parse(text) as GeneratedResource[];
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: rewritten.map(({ id, ...resource }): BundleEntry => ({
      fullUrl: fullUrls.get(`${resource.resourceType}/${id}`),
      resource: resource as GeneratedResource,
      request: { method: 'POST', url: resource.resourceType },
    })),
  };
}

/**
 * Observations per patient of the benchmark's bundles: from a short record to a long-lived
 * patient's, whose bundles come to ~180 to ~1,250 entries, the range of the 12 real Synthea
 * patients issue 22 was tried with.
 */
const OBSERVATIONS = [100, 160, 220, 280, 340, 400, 460, 520, 580, 640, 700, 760];

/** The benchmark's patient bundles (POST, urn:uuid), as request bodies; `count` of them (≤ 12). */
export function syntheaPatientBundles(count: number): { body: string; entries: number }[] {
  return OBSERVATIONS.slice(0, count).map((observations, n) => {
    const resources = syntheaShapedPatient(n, { patients: 1, longHistoryObservations: observations, observationsPerPatient: observations, encounterRecords: true });
    const bundle = patientTransaction(resources, 'POST');
    return { body: JSON.stringify(bundle), entries: bundle.entry?.length ?? 0 };
  });
}
