import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, type SearchLimits } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { Database } from '../../src/store/database.ts';
import { TEST_KEY_FILE, issueTestToken, openTestDatabase, testDatabases } from '../harness.ts';

/** Resolves once `condition` holds, checking every 10 ms (no timing in the assertion itself). */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/**
 * Holds the search index's string table locked (PostgreSQL) or the one embedded connection
 * (PGlite) until released: a search that needs it waits, which stands in for a slow statement
 * deterministically.
 */
async function block(db: Database): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const done = db.transaction(async (tx) => {
    if (db.driver === 'postgres') await tx.query('LOCK TABLE sp_string IN ACCESS EXCLUSIVE MODE');
    locked();
    await released;
  });
  await isLocked;
  return {
    release: async () => {
      release();
      await done;
    },
  };
}

const TEST_ISSUER = 'https://kanplan.test/issuer';

describe.each(testDatabases)('pathological searches cannot stall others (%s)', (kind) => {
  let db: Database;
  let limited: RunningServer;
  let timed: RunningServer;
  let token: string;

  const start = (searchLimits: SearchLimits) =>
    startServer(
      loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, auth: { mode: 'jwt', keyFile: TEST_KEY_FILE, issuer: TEST_ISSUER, audience: TEST_ISSUER }, searchLimits }),
      { db, logger: pino({ level: 'silent' }) },
    );
  const get = (server: RunningServer, path: string) => fetch(`${server.url}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    // One slot for costly searches and no timeout; the other server has a short timeout.
    limited = await start({ timeoutMs: 0, costlyConcurrency: 1 });
    timed = await start({ timeoutMs: 200, costlyConcurrency: 0 });
    token = await issueTestToken(limited, 'system/*.cruds');
    const response = await fetch(`${limited.url}/Patient/pat-limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'pat-limits', name: [{ family: 'Quillfeather' }] }),
    });
    expect(response.status).toBe(201);
  });
  afterAll(async () => {
    await limited?.close();
    await timed?.close();
    await db?.close();
  });

  test('a costly search beyond the limit is answered 503 with Retry-After and a diagnostic; cheap reads go on; the first finishes', async () => {
    const blocker = await block(db);
    const first = get(limited, 'Patient?name:contains=feath');
    await until(() => limited.ctx.costlySearches?.inUse === 1);
    const second = await get(limited, 'Patient?name:contains=quill&_sort=name');
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('2');
    const outcome = await second.json();
    expect(outcome.issue[0].code).toBe('too-costly');
    expect(outcome.issue[0].diagnostics).toMatch(/costly searches .* already running .* narrow the search/);
    if (kind === 'postgres') {
      // A read and a plain indexed search do not wait for the slot or the blocked statement.
      expect((await get(limited, 'Patient/pat-limits')).status).toBe(200);
      expect((await get(limited, 'Patient?_id=pat-limits')).status).toBe(200);
    }
    await blocker.release();
    const answered = await first;
    expect(answered.status).toBe(200);
    expect((await answered.json()).entry?.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['pat-limits']);
    expect(limited.ctx.costlySearches?.inUse).toBe(0);
    expect((await get(limited, 'Patient?name:contains=quill')).status).toBe(200);
  });

  test.runIf(kind === 'postgres')('a search statement that runs past SEARCH_TIMEOUT_MS is stopped and answered 422 too-costly, naming how to narrow it', async () => {
    const blocker = await block(db);
    try {
      const response = await get(timed, 'Patient?name:contains=feath');
      expect(response.status).toBe(422);
      const outcome = await response.json();
      expect(outcome.issue[0].code).toBe('too-costly');
      expect(outcome.issue[0].diagnostics).toMatch(/longer than the server allows \(200 ms\).*narrow it/);
    } finally {
      await blocker.release();
    }
    // The setting lasted only for that search's transaction: the same search now succeeds.
    expect((await get(timed, 'Patient?name:contains=feath')).status).toBe(200);
  });

  test('searches run with the timeout setting answer normally on both databases', async () => {
    const response = await get(timed, 'Patient?name=quillfeather&_total=accurate');
    expect(response.status).toBe(200);
    expect((await response.json()).total).toBe(1);
  });
});
