import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { patientTransaction as transactionOf } from '../../bench/load/synthea-bundles.ts';
import { LONG_HISTORY_PATIENT, syntheaShapedPatient } from '../../bench/search/synthea-shaped.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/**
 * issue 22 "Bundle size": a hospital's export of one long-lived patient is a transaction of
 * thousands of entries. One of 5,000 (a fictional Synthea-shaped record: the Patient, Encounters,
 * Observations, Conditions, Procedures, medications, immunizations) imports with the default
 * settings, every entry validated; one over MAX_BUNDLE_ENTRIES is refused naming the setting.
 */
const ENTRIES = 5_000;

function patientTransaction(): Bundle {
  const resources = syntheaShapedPatient(0, { patients: 1, longHistoryObservations: ENTRIES, observationsPerPatient: 0 }).slice(0, ENTRIES);
  return transactionOf(resources, 'PUT');
}

describe.each(testDatabases)('a long-lived patient as one transaction on %s', (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    // The defaults: MAX_BUNDLE_ENTRIES 10,000 and MAX_BODY_SIZE 16 MB.
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test(`of ${ENTRIES} entries imports with the default settings`, { timeout: 600_000 }, async () => {
    const bundle = patientTransaction();
    expect(Buffer.byteLength(JSON.stringify(bundle))).toBeLessThan(16 * 1024 ** 2);
    const response = (await server.client.transaction({ body: bundle })) as Bundle;
    expect(response.entry).toHaveLength(ENTRIES);
    expect(new Set(response.entry?.map((e) => e.response?.status))).toEqual(new Set(['201 Created']));
    const observations = await http(server, 'GET', `Observation?patient=Patient/${LONG_HISTORY_PATIENT}&_summary=count`);
    const written = bundle.entry?.filter((e) => e.resource?.resourceType === 'Observation').length;
    expect(observations.body.total).toBe(written);
  });

  test('over MAX_BUNDLE_ENTRIES is refused with 413 naming the setting to raise', async () => {
    const limited = await startTestServer(kind, { maxBundleEntries: 50 });
    try {
      const bundle = patientTransaction();
      const refused = await http(limited, 'POST', '', { body: { ...bundle, entry: bundle.entry?.slice(0, 51) } });
      expect(refused.status).toBe(413);
      expect(refused.body.issue[0].diagnostics).toContain('MAX_BUNDLE_ENTRIES');
    } finally {
      await limited.stop();
    }
  });
});
