import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { startServer, type RunningServer } from '../../../src/server/server.ts';
import { deleteExpiredJobs, readJob } from '../../../src/store/job-store.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../../harness.ts';

/**
 * A Bulk Data export job's life (https://hl7.org/fhir/uv/bulkdata/STU2/export.html) across a
 * graceful server restart — the stopping process gives the job back at its next checkpoint, the
 * restarted one resumes after the last committed part, and the files hold every resource exactly
 * once — and its expiry. The test server itself runs no jobs; the "processes" are servers on its
 * database. Fictional persons.
 */
const TEST_JOBS = { enabled: true, pollMs: 20, leaseMs: 2_000 };
/** One resource per part: the export takes many checkpoints, so the restart falls in its middle. */
const TEST_BULK = { batchSize: 1, retentionMs: 3_600_000 };
const OBSERVATIONS = 400;

for (const kind of testDatabases) {
  describe(`Bulk Data export jobs: restart and expiry (${kind})`, () => {
    let server: TestServer;
    const processes: RunningServer[] = [];

    async function serverProcess(bulkExport = TEST_BULK): Promise<RunningServer> {
      const config = loadConfig({}, {
        port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, jobs: TEST_JOBS, bulkExport,
        auth: server.server.ctx.config.auth,
      });
      const running = await startServer(config, { db: server.db, logger: pino({ level: 'silent' }) });
      processes.push(running);
      return running;
    }

    const observations = Array.from({ length: OBSERVATIONS }, (_, i) => ({
      resourceType: 'Observation', id: `kp-rs-obs-${String(i).padStart(3, '0')}`, status: 'final', code: { text: 'Steps walked' },
      subject: { reference: 'Patient/kp-rs-dee' }, valueQuantity: { value: i, unit: 'steps' },
    }));

    beforeAll(async () => {
      server = await startTestServer(kind, { jobs: { ...TEST_JOBS, enabled: false }, bulkExport: TEST_BULK });
      const entries = [{ resourceType: 'Patient', id: 'kp-rs-dee', name: [{ family: 'Testperson', given: ['Dee'] }] }, ...observations];
      const bundle = { resourceType: 'Bundle', type: 'batch', entry: entries.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })) };
      const res = await http(server, 'POST', '', { body: bundle });
      expect(res.status, res.text).toBe(200);
    });
    afterAll(async () => {
      for (const running of processes) await running.close().catch(() => undefined);
      await server?.stop();
    });

    test('a graceful restart mid-export gives the job back; the restarted server resumes it and every resource is exported once', async () => {
      const auth = { authorization: `Bearer ${server.token}` };
      const first = await serverProcess();
      const kickOff = await fetch(`${first.url}/$export?_type=Patient,Observation`, { headers: { ...auth, prefer: 'respond-async' } });
      expect(kickOff.status, await kickOff.text()).toBe(202);
      const jobId = (kickOff.headers.get('content-location') as string).split('/').pop() as string;
      // Polls are answered while the export runs (on the embedded database too: the job yields to
      // requests at each checkpoint); once Observations are being written, stop as SIGTERM does.
      let progress = '';
      while (!/^type 2 of 2, ([3-9]|\d\d+) resources written$/.test(progress)) {
        const poll = await fetch(`${first.url}/_export/${jobId}`, { headers: auth });
        expect(poll.status, 'the export finished before the restart; raise OBSERVATIONS').toBe(202);
        progress = poll.headers.get('x-progress') ?? '';
        await poll.arrayBuffer();
      }
      await first.close();
      // The stopping runner gave the job back after its last checkpoint, inside the Observations.
      const stopped = await readJob(server.db, jobId);
      expect(stopped?.status).toBe('queued');
      const exportedBeforeRestart = (JSON.parse(stopped?.progress ?? '{}') as { exported: number }).exported;
      expect(exportedBeforeRestart).toBeGreaterThan(2);
      expect(exportedBeforeRestart).toBeLessThan(OBSERVATIONS + 1);

      const restarted = await serverProcess();
      let manifest: { output: { type: string; url: string; count: number }[]; error: unknown[] } | undefined;
      while (!manifest) {
        const poll = await fetch(`${restarted.url}/_export/${jobId}`, { headers: auth });
        if (poll.status === 200) manifest = (await poll.json()) as typeof manifest;
        else {
          expect(poll.status, await poll.text()).toBe(202);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
      expect(manifest.error).toEqual([]);
      expect(manifest.output.map((o) => [o.type, o.count])).toEqual([['Patient', 1], ['Observation', OBSERVATIONS]]);
      const downloaded = await fetch(manifest.output[1].url, { headers: { ...auth, accept: 'application/fhir+ndjson' } });
      const ids = (await downloaded.text()).split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { id: string }).id);
      // In id order, none missing, none twice: the parts before and after the restart join exactly.
      expect(ids).toEqual(observations.map((o) => o.id));
      // No runner of this test is left to take the next test's job.
      await restarted.close();
    });

    test('a finished export expires after its retention: the sweep removes it, and its status URL and files answer 404', async () => {
      const auth = { authorization: `Bearer ${server.token}` };
      const shortLived = await serverProcess({ ...TEST_BULK, batchSize: 1000, retentionMs: 1 });
      const kickOff = await fetch(`${shortLived.url}/$export?_type=Patient`, { headers: { ...auth, prefer: 'respond-async' } });
      expect(kickOff.status, await kickOff.text()).toBe(202);
      const statusUrl = kickOff.headers.get('content-location') as string;
      let poll = await fetch(statusUrl, { headers: auth });
      while (poll.status === 202) {
        await poll.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 25));
        poll = await fetch(statusUrl, { headers: auth });
      }
      expect(poll.status).toBe(200);
      const manifest = (await poll.json()) as { output: { url: string }[] };
      expect(Date.parse(poll.headers.get('expires') as string)).toBeLessThanOrEqual(Date.now() + 1000);
      await shortLived.close();
      // The runner sweeps every few minutes; the sweep's own statement is called here.
      expect(await deleteExpiredJobs(server.db)).toBeGreaterThanOrEqual(1);
      const gone = await fetch(statusUrl.replace(shortLived.url, server.url), { headers: auth });
      expect(gone.status).toBe(404);
      expect(((await gone.json()) as { issue: { diagnostics: string }[] }).issue[0].diagnostics).toContain('expired');
      expect((await fetch(manifest.output[0].url.replace(shortLived.url, server.url), { headers: auth })).status).toBe(404);
    });
  });
}
