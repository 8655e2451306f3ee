import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, test } from 'vitest';

/** Lines the server logged, parsed, until `until` matches one or the process exits. */
function readLog(child: ReturnType<typeof spawn>, lines: Record<string, unknown>[], until: (line: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (until(line)) {
          child.stdout?.off('data', onData);
          resolve();
          return;
        }
        newline = buffered.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before the expected log line`)));
  });
}

describe('kanplan serve', () => {
  test('starts on a new embedded database and on SIGTERM closes the server and database and exits 0', async () => {
    const env = {
      ...process.env,
      DATA_DIR: mkdtempSync(`${tmpdir()}/kanplan-serve-`),
      PORT: '0',
      // Vitest puts Vite's BASE_URL=/ into the environment; the server must derive its own.
      BASE_URL: '',
      HOST: '127.0.0.1',
      LOAD_DEMO_DATA: 'false',
      AUTH_MODE: 'off',
      LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, ['src/cli.ts', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      if (code !== 0) console.error(stderr);
    });
    const lines: Record<string, unknown>[] = [];
    await readLog(child, lines, (line) => line.msg === 'kanplan is ready');
    const ready = lines.find((line) => line.msg === 'kanplan is ready') as { url: string; database: string };
    expect(ready.database).toBe('pglite');
    expect(ready.url).toMatch(/^http:\/\/localhost:[1-9]\d*\/fhir$/);
    expect((await fetch(ready.url.replace('localhost', '127.0.0.1').replace(/\/fhir$/, '/healthz'))).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const stopped = readLog(child, lines, (line) => line.msg === 'kanplan stopped');
    child.kill('SIGTERM');
    await stopped;
    expect(await exited).toBe(0);
  });
});
