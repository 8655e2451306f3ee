import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBulkCommand } from '../../src/cli/export-bulk.ts';
import { http, startTestServer, type TestServer } from '../harness.ts';
import { captureIo } from './command-io.ts';

describe('kanplan export-bulk against a server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { jobs: { enabled: true, pollMs: 20, leaseMs: 2_000 }, bulkExport: { batchSize: 2, retentionMs: 3_600_000 } });
    for (const id of ['kp-cli-1', 'kp-cli-2', 'kp-cli-3']) {
      expect((await http(server, 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id, name: [{ family: 'Testperson' }] } })).status).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('writes one NDJSON file per type and the manifest, whose transactionTime continues with --since', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kanplan-bulk-'));
    const capture = captureIo();
    const code = await exportBulkCommand.run(['--type', 'Patient', '--out', out, '--server', server.url, '--token', server.token], capture.io);
    expect(code, capture.err()).toBe(0);
    expect(capture.out()).toContain('3 resources in 1 file(s)');
    const file = readdirSync(out).find((name) => name.startsWith('Patient-')) as string;
    expect(readFileSync(path.join(out, file), 'utf8').trim().split('\n')).toHaveLength(3);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { transactionTime: string };

    const next = captureIo();
    expect(await exportBulkCommand.run(['--type', 'Patient', '--since', manifest.transactionTime, '--out', out, '--server', server.url, '--token', server.token], next.io)).toBe(0);
    expect(next.out()).toContain('0 resources in 0 file(s)');
  });

  it('--provenance adds the exported resources\' Provenance in a Provenance file', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kanplan-bulk-'));
    const capture = captureIo();
    const code = await exportBulkCommand.run(['--type', 'Patient', '--provenance', 'latest', '--quiet', '--out', out, '--server', server.url, '--token', server.token], capture.io);
    expect(code, capture.err()).toBe(0);
    const file = readdirSync(out).find((name) => name.startsWith('Provenance-')) as string;
    const targets = readFileSync(path.join(out, file), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { target: { reference: string }[] }).target[0].reference);
    expect(targets.sort()).toEqual(['Patient/kp-cli-1/_history/1', 'Patient/kp-cli-2/_history/1', 'Patient/kp-cli-3/_history/1']);
    const wrong = captureIo();
    expect(await exportBulkCommand.run(['--provenance', 'newest', '--out', out, '--server', server.url, '--token', server.token], wrong.io)).toBe(1);
    expect(wrong.err()).toContain('includeAssociatedData=newest');
  });

  it('reports a refused kick-off with exit code 1', async () => {
    const capture = captureIo();
    expect(await exportBulkCommand.run(['--type', 'NoSuchType', '--out', os.tmpdir(), '--server', server.url, '--token', server.token], capture.io)).toBe(1);
    expect(capture.err()).toContain('HTTP 400');
  });
});
