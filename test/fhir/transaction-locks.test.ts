import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, startTestServer, type TestServer } from '../harness.ts';

/**
 * A transaction against concurrent writers (https://hl7.org/fhir/R4/http.html#transaction,
 * #concurrency). PostgreSQL only: PGlite runs one transaction at a time, so nothing overlaps there.
 */
describe.runIf(process.env.TEST_DATABASE_URL)('transaction locks and races on postgres', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('postgres');
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Runs a transaction of the server's repository that holds `work`'s effects open until released. */
  async function holdOpen(work: (repo: Parameters<Parameters<TestServer['server']['ctx']['repo']['transaction']>[0]>[0]) => Promise<void>): Promise<{ pid: number; release: () => void }> {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pid = await new Promise<number>((started) => {
      void server.server.ctx.repo.transaction(async (repo) => {
        const [row] = await repo.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await work(repo);
        started(row.pid);
        await gate;
      });
    });
    return { pid, release };
  }

  async function blockedBehind(pid: number): Promise<void> {
    for (;;) {
      const waiting = await server.db.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
      if (waiting.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  test('a create that loses the race for its id inside a transaction is 409 naming the entry, and writes nothing', async () => {
    const id = `race-bundle-${Date.now()}`;
    const holder = await holdOpen(async (repo) => {
      await repo.create({ resourceType: 'Patient', gender: 'female' } as Patient, id);
      await repo.sql.query('SELECT 1 FROM resource WHERE resource_type = $1 AND id = $2', ['Patient', id]);
    });
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Fictional goal' }, subject: { reference: `Patient/${id}` } }, request: { method: 'POST', url: 'Goal' } },
        { resource: { resourceType: 'Patient', id, gender: 'male' }, request: { method: 'PUT', url: `Patient/${id}` } },
      ],
    };
    const goalsBefore = (await http(server, 'GET', 'Goal?_summary=count')).body.total as number;
    const posted = http(server, 'POST', '', { body: bundle });
    await blockedBehind(holder.pid);
    holder.release();
    const res = await posted;
    expect(res.status).toBe(409);
    expect(res.body.issue[0].code).toBe('conflict');
    expect(res.body.issue[0].diagnostics).toMatch(new RegExp(`^Bundle\\.entry\\[1\\] \\(PUT Patient/${id}\\): .*retry`));
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1]']);
    expect(((await server.client.read({ resourceType: 'Patient', id })) as Patient).gender).toBe('female');
    expect((await http(server, 'GET', 'Goal?_summary=count')).body.total).toBe(goalsBefore);
  });

  test('conditional DELETE entries take their locks together in sorted order, not one by one in entry order', async () => {
    const criteria = (value: string): string => new URLSearchParams([['identifier', `urn:ks:fictional-lock|${value}`]]).toString();
    const first = `Patient?${criteria('a')}`;
    const second = `Patient?${criteria('b')}`;
    // Another writer holds the lock that sorts first.
    const holder = await holdOpen(async (repo) => repo.lock([first]));
    const posted = http(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'DELETE', url: second } },
          { request: { method: 'DELETE', url: first } },
        ],
      },
    });
    await blockedBehind(holder.pid);
    // Waiting for the first lock, the transaction holds no later one: taken one by one in entry
    // order it would hold the second while waiting, the pattern that deadlocks two transactions.
    const [probe] = await server.db.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS free', [second]);
    holder.release();
    expect(probe.free).toBe(true);
    expect((await posted).status).toBe(200);
  });
});
