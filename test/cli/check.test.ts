import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkDatabase, reportCheck } from '../../src/cli/check.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { startTestServer, testDatabases, type TestServer } from '../harness.ts';
import { captureIo } from './command-io.ts';

describe.each(testDatabases)('kanplan check (%s)', (kind) => {
  let server: TestServer;
  const { searchParameters } = loadConformance();
  beforeAll(async () => {
    server = await startTestServer(kind);
    await server.client.update({ resourceType: 'Patient', id: 'chk-1', body: { resourceType: 'Patient', id: 'chk-1', gender: 'female', birthDate: '1970-03-04', name: [{ family: 'Checkwell' }] } });
    await server.client.update({ resourceType: 'Patient', id: 'chk-1', body: { resourceType: 'Patient', id: 'chk-1', gender: 'female', birthDate: '1970-03-05', name: [{ family: 'Checkwell' }] } });
    await server.client.update({ resourceType: 'Observation', id: 'chk-obs', body: { resourceType: 'Observation', id: 'chk-obs', status: 'final', code: { text: 'weight' }, subject: { reference: 'Patient/chk-1' }, valueQuantity: { value: 70.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' }, effectiveDateTime: '2024-01-02T03:04:05Z' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('a consistent database passes; a corrupted index row, a lost index row and a broken version chain are each reported and exit 1', async () => {
    const clean = await checkDatabase(server.db, searchParameters, server.url, 2);
    expect(clean.brokenChains).toEqual([]);
    expect(clean.drift).toEqual([]);
    expect(clean.checked).toBeGreaterThanOrEqual(2);
    const ok = captureIo();
    expect(reportCheck(clean, ok.io)).toBe(0);

    // Corrupt on purpose: a date row moved, a token row gone, a history row gone.
    await server.db.exec("UPDATE sp_date SET low = low + interval '1 day' WHERE resource_type = 'Patient' AND resource_id = 'chk-1' AND code = 'birthdate'");
    await server.db.exec("DELETE FROM sp_token WHERE resource_type = 'Observation' AND resource_id = 'chk-obs' AND code = 'status'");
    await server.db.exec("DELETE FROM resource_history WHERE resource_type = 'Patient' AND id = 'chk-1' AND version_id = 1");
    const broken = await checkDatabase(server.db, searchParameters, server.url, 2);
    expect(broken.drift).toEqual(
      expect.arrayContaining([
        { resourceType: 'Patient', id: 'chk-1', table: 'sp_date', missing: 1, extra: 1 },
        { resourceType: 'Observation', id: 'chk-obs', table: 'sp_token', missing: 1, extra: 0 },
      ]),
    );
    expect(broken.drift).toHaveLength(2);
    expect(broken.brokenChains).toEqual([{ resourceType: 'Patient', id: 'chk-1', problem: 'history holds 1 versions numbered 2..2, the current version is 2' }]);
    const capture = captureIo();
    expect(reportCheck(broken, capture.io)).toBe(1);
    expect(capture.out()).toContain('index drift    Patient/chk-1 in sp_date: 1 missing, 1 extra rows');
    expect(capture.err()).toContain('2 index drifts');
  });
});
