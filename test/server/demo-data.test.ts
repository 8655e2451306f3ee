import type { Bundle } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { listExampleDocuments } from '../../src/documents/example-documents.ts';
import { importExampleDocuments } from '../../src/fhir/operations/import-document.ts';
import { startServer } from '../../src/server/server.ts';
import { openTestDatabase, startTestServer } from '../harness.ts';

describe('demo data', () => {
  test('an empty database gets the example plans at start, and a restart does not load them twice', async () => {
    const db = await openTestDatabase('pglite');
    const config = loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: true });
    const count = async (url: string, type: string): Promise<number> =>
      (await (await fetch(`${url}/${type}?_summary=count`)).json()).total as number;
    try {
      const first = await startServer(config, { db, logger: pino({ level: 'silent' }) });
      const plans = await count(first.url, 'CarePlan');
      const patients = await count(first.url, 'Patient');
      expect(plans).toBeGreaterThanOrEqual(5);
      expect(patients).toBeGreaterThanOrEqual(5);
      await first.close();
      const second = await startServer(config, { db, logger: pino({ level: 'silent' }) });
      expect(await count(second.url, 'CarePlan')).toBe(plans);
      expect(await count(second.url, 'Patient')).toBe(patients);
      await second.close();
    } finally {
      await db.close();
    }
  });

  test('importExampleDocuments loads every example on an empty database', async () => {
    const server = await startTestServer('pglite');
    try {
      const results = await importExampleDocuments(server.server.ctx);
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.map((r) => r.file)).toEqual(listExampleDocuments().map((e) => e.file));
      const plans = (await server.client.search({ resourceType: 'CarePlan', searchParams: { _summary: 'count' } })) as Bundle;
      // Eight plan documents (5 PCSP, 1 BSP, 2 ISP) plus one backup plan per PCSP.
      expect(plans.total).toBe(13);
    } finally {
      await server.stop();
    }
  });
});
