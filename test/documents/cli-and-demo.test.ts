import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runExportCommand, runImportCommand } from '../../src/documents/cli.ts';
import { listExampleDocuments } from '../../src/documents/plan-documents.ts';
import { importExampleDocuments } from '../../src/fhir/operations/import-document.ts';
import { startTestServer, type TestServer } from '../harness.ts';

function captureStdout(stream: NodeJS.WriteStream = process.stdout): { text: () => string; restore: () => void } {
  let out = '';
  const spy = vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
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

  it('kanplan import reports an unreachable server per document instead of crashing', async () => {
    const out = captureStdout();
    let code: number;
    try {
      code = await runImportCommand(['bundles/documents/jordan-sample.pcsp.json', '--server', 'http://127.0.0.1:9/fhir', '--token', 'x']);
    } finally {
      out.restore();
    }
    expect(code).toBe(1);
    expect(out.text()).toContain('1 document(s): 0 created, 0 updated, 0 unchanged, 1 failed');
    expect(out.text()).toContain('FAILED bundles/documents/jordan-sample.pcsp.json: cannot reach http://127.0.0.1:9/fhir');
  });

  it('kanplan export writes the document back, found by Medicaid ID', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kanplan-export-')), 'riley.json');
    const code = await runExportCommand(['--patient', 'KS-TEST-0000003', '--type', 'pcsp', '--out', file, '--server', server.url, '--token', server.token]);
    expect(code).toBe(0);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(exported).toStrictEqual(listExampleDocuments().find((e) => e.document.planId === 'PCSP-TEST-RILEY-2026')?.document);
  });

  it('kanplan import counts created, updated and unchanged documents and shows progress on a terminal', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kanplan-import-'));
    // New plan id: created. The original Avery PCSP over its loaded update: updated. Riley: unchanged.
    const jordan = JSON.parse(readFileSync('bundles/documents/jordan-sample.pcsp.json', 'utf8')) as { planId: string };
    writeFileSync(path.join(dir, 'a-jordan-2027.pcsp.json'), JSON.stringify({ ...jordan, planId: 'PCSP-TEST-JORDAN-2027' }));
    copyFileSync('bundles/documents/avery-example.pcsp.json', path.join(dir, 'b-avery.pcsp.json'));
    copyFileSync('bundles/documents/riley-placeholder.pcsp.yaml', path.join(dir, 'c-riley.pcsp.yaml'));
    const wasTty = process.stderr.isTTY;
    process.stderr.isTTY = true;
    const out = captureStdout();
    const err = captureStdout(process.stderr);
    try {
      expect(await runImportCommand([dir, '--server', server.url, '--token', server.token])).toBe(0);
    } finally {
      out.restore();
      err.restore();
      process.stderr.isTTY = wasTty;
    }
    expect(out.text()).toBe('3 document(s): 1 created, 1 updated, 1 unchanged, 0 failed\n');
    expect(err.text()).toContain(`[${'.'.repeat(30)}] 0/3 a-jordan-2027.pcsp.json`);
    expect(err.text()).toContain(`[${'#'.repeat(30)}] 3/3`);
  });
});

describe('kanplan import and export on the embedded database (no --server)', () => {
  // Vitest sets BASE_URL=/ (Vite's public path); the CLI reads the real server settings.
  const saved = { DATA_DIR: process.env.DATA_DIR, DATABASE_URL: process.env.DATABASE_URL, BASE_URL: process.env.BASE_URL };
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('imports into DATA_DIR and exports the same document back to stdout', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kanplan-embedded-'));
    process.env.DATA_DIR = path.join(dir, 'data');
    delete process.env.DATABASE_URL;
    delete process.env.BASE_URL;
    const out = captureStdout();
    let code: number;
    try {
      code = await runImportCommand(['bundles/documents/riley-placeholder.pcsp.yaml']);
    } finally {
      out.restore();
    }
    expect(code).toBe(0);
    expect(out.text()).toBe('1 document(s): 1 created, 0 updated, 0 unchanged, 0 failed\n');
    // Without --out the document goes to stdout, so nothing else may be written there (no log lines).
    const exported = captureStdout();
    try {
      code = await runExportCommand(['--patient', 'KS-TEST-0000003', '--type', 'pcsp']);
    } finally {
      exported.restore();
    }
    expect(code).toBe(0);
    expect(JSON.parse(exported.text())).toStrictEqual(listExampleDocuments().find((e) => e.document.planId === 'PCSP-TEST-RILEY-2026')?.document);
  }, 180_000);
});
