import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.ts';
import { importCommand } from '../../src/cli/import.ts';
import { listExampleDocuments } from '../../src/documents/example-documents.ts';
import { importExampleDocuments } from '../../src/fhir/operations/import-document.ts';
import { startTestServer, type TestServer } from '../harness.ts';
import { captureIo } from './command-io.ts';

describe('kanplan import and export against a server holding the example documents', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
    const loaded = await importExampleDocuments(server.server.ctx);
    expect(loaded.filter((r) => !r.ok)).toEqual([]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('kanplan import reports unchanged documents and failures with reasons, exit code 1 on failure', async () => {
    const capture = captureIo();
    const code = await importCommand.run(['bundles/documents/jordan-sample.pcsp.json', 'bundles/documents/invalid/range.tier-above-5.pcsp.json', '--server', server.url, '--token', server.token], capture.io);
    expect(code).toBe(1);
    expect(capture.out()).toContain('2 document(s): 0 created, 0 updated, 1 unchanged, 1 failed');
    expect(capture.out()).toContain('FAILED bundles/documents/invalid/range.tier-above-5.pcsp.json: /functionalAssessment/tier must be at most 5.');
  });

  it('kanplan import reports an unreachable server per document instead of crashing', async () => {
    const capture = captureIo();
    const code = await importCommand.run(['bundles/documents/jordan-sample.pcsp.json', '--server', 'http://127.0.0.1:9/fhir', '--token', 'x'], capture.io);
    expect(code).toBe(1);
    expect(capture.out()).toContain('1 document(s): 0 created, 0 updated, 0 unchanged, 1 failed');
    expect(capture.out()).toContain('FAILED bundles/documents/jordan-sample.pcsp.json: cannot reach http://127.0.0.1:9/fhir');
  });

  it('kanplan import and export reject usage errors with exit code 2 before reading or connecting', async () => {
    const missing = captureIo();
    expect(await importCommand.run(['bundles/documents/no-such-plan.json', '--server', 'http://127.0.0.1:9/fhir'], missing.io)).toBe(2);
    expect(missing.err()).toContain('No such file or directory: bundles/documents/no-such-plan.json');
    const badType = captureIo();
    expect(await exportCommand.run(['--patient', 'KS-TEST-0000003', '--type', 'careplan', '--server', 'http://127.0.0.1:9/fhir'], badType.io)).toBe(2);
    expect(badType.err()).toContain('takes pcsp, bsp, isp, not "careplan"');
    expect(await exportCommand.run(['--type', 'pcsp'], captureIo().io)).toBe(2);
  });

  it('kanplan export writes the document back, found by Medicaid ID', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kanplan-export-')), 'riley.json');
    const code = await exportCommand.run(['--patient', 'KS-TEST-0000003', '--type', 'pcsp', '--out', file, '--server', server.url, '--token', server.token], captureIo().io);
    expect(code).toBe(0);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(exported).toStrictEqual(listExampleDocuments().find((e) => e.document.planId === 'PCSP-TEST-RILEY-2026')?.document);
  });

  it('kanplan export exits 1 naming a person it cannot find', async () => {
    const capture = captureIo();
    expect(await exportCommand.run(['--patient', 'KS-NOBODY', '--server', server.url, '--token', server.token], capture.io)).toBe(1);
    expect(capture.err()).toBe('No Patient with id or Medicaid ID KS-NOBODY.\n');
    expect(capture.out()).toBe('');
  });

  it('kanplan import counts created, updated and unchanged documents, PCSPs first, and shows progress on a terminal', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kanplan-import-'));
    // New plan id: created. The original Avery PCSP over its loaded update: updated. Riley: unchanged.
    const jordan = JSON.parse(readFileSync('bundles/documents/jordan-sample.pcsp.json', 'utf8')) as { planId: string };
    writeFileSync(path.join(dir, 'a-jordan-2027.pcsp.json'), JSON.stringify({ ...jordan, planId: 'PCSP-TEST-JORDAN-2027' }));
    copyFileSync('bundles/documents/avery-example.pcsp.json', path.join(dir, 'b-avery.pcsp.json'));
    copyFileSync('bundles/documents/riley-placeholder.pcsp.yaml', path.join(dir, 'c-riley.pcsp.yaml'));
    // Named first, imported last: an ISP refers to the PCSP and BSP it is based on.
    copyFileSync('bundles/documents/avery-example.isp.json', path.join(dir, '0-avery.isp.json'));
    const capture = captureIo({ tty: true });
    expect(await importCommand.run([dir, '--server', server.url, '--token', server.token], capture.io)).toBe(0);
    expect(capture.out()).toBe('4 document(s): 1 created, 1 updated, 2 unchanged, 0 failed\n');
    expect(capture.err()).toContain(`\r[${'.'.repeat(30)}] 0/4 documents (0%) a-jordan-2027.pcsp.json`);
    expect(capture.err()).toContain('] 3/4 documents (75%) 0-avery.isp.json');
    expect(capture.err()).toMatch(new RegExp(`\\[${'#'.repeat(30)}\\] 4/4 documents \\(100%\\)\\x1b\\[K\\n$`));
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
    const imported = captureIo();
    expect(await importCommand.run(['bundles/documents/riley-placeholder.pcsp.yaml'], imported.io)).toBe(0);
    expect(imported.out()).toBe('1 document(s): 1 created, 0 updated, 0 unchanged, 0 failed\n');
    // Without --out the document goes to stdout, so nothing else may be written there.
    const exported = captureIo();
    expect(await exportCommand.run(['--patient', 'KS-TEST-0000003', '--type', 'pcsp'], exported.io)).toBe(0);
    expect(JSON.parse(exported.out())).toStrictEqual(listExampleDocuments().find((e) => e.document.planId === 'PCSP-TEST-RILEY-2026')?.document);
  }, 180_000);
});
