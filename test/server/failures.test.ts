import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { openTestDatabase } from '../harness.ts';
import type { Database } from '../../src/store/database.ts';

describe('unexpected failures', () => {
  let server: RunningServer;
  let db: Database;
  const logLines: string[] = [];
  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    server = await startServer(loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir' }), { db, logger: pino({ level: 'error' }, sink) });
  });
  afterAll(async () => {
    await server.close();
  });

  test('a database failure is a 500 OperationOutcome without a stack trace, and is logged', async () => {
    await db.close();
    const res = await fetch(`${server.url}/Patient/abc`);
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0].code).toBe('exception');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    expect(logLines.some((line) => JSON.parse(line).msg === 'request failed')).toBe(true);
    const ready = await fetch(`${server.url.replace(/\/fhir$/, '')}/readyz`);
    expect(ready.status).toBe(503);
  });
});
