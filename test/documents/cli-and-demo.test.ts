import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runExportCommand, runImportCommand } from '../../src/documents/cli.ts';
import { listExampleDocuments } from '../../src/documents/plan-documents.ts';
import { importExampleDocuments } from '../../src/fhir/operations/import-document.ts';
import { startTestServer, type TestServer } from '../harness.ts';

function captureStdout(): { text: () => string; restore: () => void } {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  return { text: () => out, restore: () => spy.mockRestore() };
}

describe('demo data and the import/export CLI', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('importExampleDocuments loads every example on an empty database', async () => {
    const results = await importExampleDocuments(server.server.ctx);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.file)).toEqual(listExampleDocuments().map((e) => e.file));
    const plans = (await server.client.search({ resourceType: 'CarePlan', searchParams: { _summary: 'count' } })) as Bundle;
    // Eight plan documents (5 PCSP, 1 BSP, 2 ISP) plus one backup plan per PCSP.
    expect(plans.total).toBe(13);
  });

  it('kanplan import reports unchanged documents and failures with reasons, exit code 1 on failure', async () => {
    const out = captureStdout();
    const code = await runImportCommand(['bundles/documents/jordan-sample.pcsp.json', 'bundles/documents/invalid/range.tier-above-5.pcsp.json', '--server', server.url, '--token', server.token]);
    out.restore();
    expect(code).toBe(1);
    expect(out.text()).toContain('2 document(s): 0 created, 0 updated, 1 unchanged, 1 failed');
    expect(out.text()).toContain('FAILED bundles/documents/invalid/range.tier-above-5.pcsp.json: /functionalAssessment/tier must be at most 5.');
  });

  it('kanplan export writes the document back, found by Medicaid ID', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kanplan-export-')), 'riley.json');
    const code = await runExportCommand(['--patient', 'KS-TEST-0000003', '--type', 'pcsp', '--out', file, '--server', server.url, '--token', server.token]);
    expect(code).toBe(0);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(exported).toStrictEqual(listExampleDocuments().find((e) => e.document.planId === 'PCSP-TEST-RILEY-2026')?.document);
  });
});
