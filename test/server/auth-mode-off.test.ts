import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { Database } from '../../src/store/database.ts';
import { openTestDatabase } from '../harness.ts';

describe('AUTH_MODE=off', () => {
  let server: RunningServer;
  let db: Database;
  const logLines: { level: number; msg: string }[] = [];
  let stderr = '';

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const config = loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false });
      server = await startServer(config, { db, logger: pino({ level: 'warn' }, logStream) });
    } finally {
      spy.mockRestore();
    }
  });
  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  test('start-up warns loudly, in the log and on stderr', () => {
    const warning = logLines.find((line) => line.msg.includes('AUTH_MODE=off'));
    expect(warning?.level).toBe(40);
    expect(warning?.msg).toContain('authorization is DISABLED');
    expect(stderr).toMatch(/\*\*\* WARNING: AUTH_MODE=off: authorization is DISABLED/);
  });

  test('requests without a token are then served', async () => {
    const res = await fetch(`${server.url}/Patient?_count=1`);
    expect(res.status).toBe(200);
  });
});
