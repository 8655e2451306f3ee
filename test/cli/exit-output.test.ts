import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kanplan-exit-output-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('kanplan CLI output through a pipe', () => {
  test('a report longer than the pipe buffer reaches a reader that reads late: every FAILED line of 1,000 documents', async () => {
    const text = fs.readFileSync(path.join(root, 'bundles/documents/avery-example.pcsp.json'), 'utf8');
    for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}.pcsp.json`), text);
    // No server listens on port 1: every document fails, one ~110-character line each (~110 KB).
    // A shell pipe whose reader starts 3 s late: the pipe fills (64 KiB) and the rest waits in the
    // writer; a command that exits without waiting for it loses the end of its report.
    const command = `"${node}" src/cli/main.ts import "${dir}" --server http://127.0.0.1:1/fhir --token t --quiet; echo "exit $?"`;
    const child = spawn('sh', ['-c', `(${command}) | (sleep 3; cat)`], {
      cwd: root,
      env: { ...process.env, BASE_URL: 'http://127.0.0.1:1/fhir' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(await closed).toBe(0);
    expect(output).toContain('exit 1');
    expect(output).toContain('1000 document(s): 0 created, 0 updated, 0 unchanged, 1000 failed');
    expect(output.match(/^ {2}FAILED /gm)).toHaveLength(1000);
  }, 120_000);
});
