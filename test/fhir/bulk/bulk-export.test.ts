import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, type Config } from '../../../src/config.ts';
import { startServer, type RunningServer } from '../../../src/server/server.ts';
import { claimJob } from '../../../src/store/job-store.ts';
import { http, issueTestToken, startTestServer, testDatabases, TEST_KEY_FILE, type TestServer } from '../../harness.ts';
import { bulkDataClient, idsOf } from './bulk-data-client.ts';

/**
 * FHIR Bulk Data $export over real HTTP (https://hl7.org/fhir/uv/bulkdata/STU2/export.html): the
 * three kick-offs, polling, the manifest, file downloads, cancellation, _typeFilter, _since
 * continuation with writes in between, scopes, a job that outlives its process, and a second server
 * process on the same database serving what the first one wrote. Fictional persons.
 */
const ADA = 'kp-bx-ada';
const BO = 'kp-bx-bo';

const fixtures = [
  { resourceType: 'Patient', id: ADA, name: [{ family: 'Testperson', given: ['Ada'] }] },
  { resourceType: 'Patient', id: BO, name: [{ family: 'Testperson', given: ['Bo'] }] },
  { resourceType: 'Organization', id: 'kp-bx-org', name: 'Test Provider Org' },
  { resourceType: 'Goal', id: 'kp-bx-goal-ada-1', lifecycleStatus: 'active', description: { text: 'Walk' }, subject: { reference: `Patient/${ADA}` } },
  { resourceType: 'Goal', id: 'kp-bx-goal-ada-2', lifecycleStatus: 'completed', description: { text: 'Cook' }, subject: { reference: `Patient/${ADA}` } },
  { resourceType: 'Goal', id: 'kp-bx-goal-bo-1', lifecycleStatus: 'active', description: { text: 'Read' }, subject: { reference: `Patient/${BO}` } },
  { resourceType: 'CarePlan', id: 'kp-bx-plan-ada', status: 'active', intent: 'plan', subject: { reference: `Patient/${ADA}` } },
  {
    resourceType: 'Patient', id: 'kp-bx-cy', name: [{ family: 'Testperson', given: ['Cy'] }],
    extension: [{ url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'sunflower' }] } }],
  },
  { resourceType: 'Goal', id: 'kp-bx-goal-cy', lifecycleStatus: 'active', description: { text: 'Garden' }, subject: { reference: 'Patient/kp-bx-cy' } },
  { resourceType: 'Group', id: 'kp-bx-group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${ADA}` } }] },
];

const TEST_JOBS = { enabled: true, pollMs: 20, leaseMs: 2_000 };
const TEST_BULK = { batchSize: 2, retentionMs: 3_600_000 };

for (const kind of testDatabases) {
  describe(`Bulk Data $export (${kind})`, () => {
    let server: TestServer;
    const others: RunningServer[] = [];

    /** Another server process on the same database (as a second process on one PostgreSQL would be). */
    async function sibling(jobs: Config['jobs']): Promise<RunningServer> {
      const config = loadConfig({}, {
        port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, jobs, bulkExport: TEST_BULK,
        auth: server.server.ctx.config.auth,
      });
      const running = await startServer(config, { db: server.db, logger: pino({ level: 'silent' }) });
      others.push(running);
      return running;
    }

    const { kickOff, manifestOf, download, errorsOf, exportAll } = bulkDataClient(() => server);

    beforeAll(async () => {
      server = await startTestServer(kind, { jobs: TEST_JOBS, bulkExport: TEST_BULK });
      for (const resource of fixtures) {
        const res = await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
        expect(res.status, `${resource.resourceType}/${resource.id}: ${res.text}`).toBeLessThan(300);
      }
    });
    afterAll(async () => {
      for (const other of others) await other.close();
      await server?.stop();
    });

    test('system kick-off answers 202 with a status URL; the manifest lists one NDJSON file per type with counts, each resource once', async () => {
      const { manifest, files } = await exportAll('$export?_type=Patient,Goal,CarePlan,Organization');
      expect(manifest.requiresAccessToken).toBe(true);
      expect(manifest.request).toContain('$export?_type=');
      expect(Number.isNaN(Date.parse(manifest.transactionTime))).toBe(false);
      expect(manifest.error).toEqual([]);
      expect(manifest.output.map((o) => [o.type, o.count])).toEqual([['Patient', 3], ['Goal', 4], ['CarePlan', 1], ['Organization', 1]]);
      expect(idsOf(files, 'Goal')).toEqual(['kp-bx-goal-ada-1', 'kp-bx-goal-ada-2', 'kp-bx-goal-bo-1', 'kp-bx-goal-cy']);
    });

    test('files require the access token of the client that asked; another client sees no such export', async () => {
      const { manifest, statusUrl } = await exportAll('$export?_type=Patient');
      expect((await fetch(manifest.output[0].url)).status).toBe(401);
      const other = await issueTestToken(server.server, 'system/*.read');
      // Same subject in test tokens; a different client id is another client.
      const { issueAccessToken, loadOrCreateSigningKey } = await import('../../../src/auth/signing-key.ts');
      const key = await loadOrCreateSigningKey(TEST_KEY_FILE);
      const stranger = await issueAccessToken(key, { scope: 'system/*.read', subject: 'another-client', issuer: 'https://kanplan.test/issuer', audience: 'https://kanplan.test/issuer', expiresIn: '1h' });
      expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${stranger}` } })).status).toBe(404);
      expect((await fetch(manifest.output[0].url, { headers: { authorization: `Bearer ${stranger}` } })).status).toBe(404);
      expect((await fetch(manifest.output[0].url, { headers: { authorization: `Bearer ${other}` } })).status).toBe(200);
    });

    test('Patient/$export holds Patient-compartment types only; Group/{id}/$export only the members\' resources', async () => {
      const patients = await exportAll('Patient/$export');
      expect(patients.files.has('Organization')).toBe(false);
      expect(idsOf(patients.files, 'Goal')).toHaveLength(4);
      const group = await exportAll('Group/kp-bx-group/$export?_type=Patient,Goal,CarePlan');
      expect(idsOf(group.files, 'Patient')).toEqual([ADA]);
      expect(idsOf(group.files, 'Goal')).toEqual(['kp-bx-goal-ada-1', 'kp-bx-goal-ada-2']);
      expect(idsOf(group.files, 'CarePlan')).toEqual(['kp-bx-plan-ada']);
      expect((await kickOff('Group/kp-bx-missing/$export')).status).toBe(404);
    });

    test('a POST kick-off with the patient parameter exports only those patients; one missing or outside the Group is reported in the error file', async () => {
      const post = async (path: string, parameter: object[]) => {
        const res = await http(server, 'POST', path, { body: { resourceType: 'Parameters', parameter }, headers: { prefer: 'respond-async', accept: 'application/fhir+json' } });
        expect(res.status, res.text).toBe(202);
        const manifest = await manifestOf(res.headers.get('content-location') as string);
        return { files: await download(manifest), errors: await errorsOf(manifest) };
      };
      const types = { name: '_type', valueString: 'Patient,Goal' };
      const patients = await post('Patient/$export', [types, { name: 'patient', valueReference: { reference: `Patient/${ADA}` } }, { name: 'patient', valueReference: { reference: 'Patient/kp-bx-nobody' } }]);
      expect(idsOf(patients.files, 'Patient')).toEqual([ADA]);
      expect(idsOf(patients.files, 'Goal')).toEqual(['kp-bx-goal-ada-1', 'kp-bx-goal-ada-2']);
      expect(patients.errors).toEqual([expect.stringContaining('Patient/kp-bx-nobody does not exist')]);
      // Group kp-bx-group has Ada only: Bo is not exported from it.
      const group = await post('Group/kp-bx-group/$export', [types, { name: 'patient', valueReference: { reference: `Patient/${BO}` } }, { name: 'patient', valueReference: { reference: `${server.url}/Patient/${ADA}` } }]);
      expect(idsOf(group.files, 'Patient')).toEqual([ADA]);
      expect(group.errors).toEqual([expect.stringContaining(`Patient/${BO} is not a member of Group/kp-bx-group`)]);
      const systemPost = await http(server, 'POST', '$export', { body: { resourceType: 'Parameters', parameter: [types] }, headers: { prefer: 'respond-async' } });
      expect(systemPost.status, systemPost.text).toBe(202);
      expect((await manifestOf(systemPost.headers.get('content-location') as string)).output.map((o) => [o.type, o.count])).toEqual([['Patient', 3], ['Goal', 4]]);
      const system = await http(server, 'POST', '$export', { body: { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: `Patient/${ADA}` } }] }, headers: { prefer: 'respond-async' } });
      expect(system.status).toBe(400);
      expect(system.body.issue[0].diagnostics).toContain('Patient/$export');
      const notPatient = await http(server, 'POST', 'Patient/$export', { body: { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Group/kp-bx-group' } }] }, headers: { prefer: 'respond-async' } });
      expect(notPatient.status).toBe(400);
      expect(notPatient.body.issue[0].diagnostics).toContain('Patient/<id>');
    });

    test("the server keeps one Group per KanCare MCO; its export holds the Patients whose KS MCO extension names it", async () => {
      const group = await http(server, 'GET', 'Group/ks-mco-sunflower');
      expect(group.status).toBe(200);
      expect(group.body.code.coding[0].code).toBe('sunflower');
      const { files } = await exportAll('Group/ks-mco-sunflower/$export?_type=Patient,Goal');
      expect(idsOf(files, 'Patient')).toEqual(['kp-bx-cy']);
      expect(idsOf(files, 'Goal')).toEqual(['kp-bx-goal-cy']);
      const empty = await exportAll('Group/ks-mco-healthy-blue/$export');
      expect(empty.manifest.output).toEqual([]);
      // Enrolment changes with the Patient's extension: the Group follows at once, and back.
      const dee = { resourceType: 'Patient', id: 'kp-bx-dee', name: [{ family: 'Testperson', given: ['Dee'] }] };
      const healthyBlue = { url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco', valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'healthy-blue' }] } };
      expect((await http(server, 'PUT', 'Patient/kp-bx-dee', { body: { ...dee, extension: [healthyBlue] } })).status).toBe(201);
      expect(idsOf((await exportAll('Group/ks-mco-healthy-blue/$export?_type=Patient')).files, 'Patient')).toEqual(['kp-bx-dee']);
      expect((await http(server, 'PUT', 'Patient/kp-bx-dee', { body: dee })).status).toBe(200);
      expect((await exportAll('Group/ks-mco-healthy-blue/$export?_type=Patient')).manifest.output).toEqual([]);
      expect((await http(server, 'DELETE', 'Patient/kp-bx-dee')).status).toBeLessThan(300);
    });

    test('_typeFilter exports only the resources matching one of its queries', async () => {
      const { files } = await exportAll('$export?_type=Goal,Patient&_typeFilter=Goal?lifecycle-status=completed,Patient?_id=kp-bx-bo');
      expect(idsOf(files, 'Goal')).toEqual(['kp-bx-goal-ada-2']);
      expect(idsOf(files, 'Patient')).toEqual([BO]);
      const bad = await kickOff('$export?_typeFilter=Goal?no-such-parameter=1');
      expect(bad.status).toBe(400);
    });

    test('a _since export from the last transactionTime holds exactly the writes after it: nothing missed, nothing twice', async () => {
      const first = await exportAll('$export?_type=Goal');
      // Written after the first kick-off: never in the first export, whenever its job reads.
      await http(server, 'PUT', 'Goal/kp-bx-goal-bo-1', { body: { ...fixtures.find((f) => f.id === 'kp-bx-goal-bo-1'), lifecycleStatus: 'completed' } });
      await http(server, 'PUT', 'Goal/kp-bx-goal-new', { body: { resourceType: 'Goal', id: 'kp-bx-goal-new', lifecycleStatus: 'active', description: { text: 'New' }, subject: { reference: `Patient/${BO}` } } });
      expect(idsOf(first.files, 'Goal')).not.toContain('kp-bx-goal-new');
      expect(first.files.get('Goal')?.find((g) => g.id === 'kp-bx-goal-bo-1')?.meta.versionId).toBe('1');
      const second = await exportAll(`$export?_type=Goal&_since=${encodeURIComponent(first.manifest.transactionTime)}`);
      expect(idsOf(second.files, 'Goal')).toEqual(['kp-bx-goal-bo-1', 'kp-bx-goal-new']);
      const third = await exportAll(`$export?_type=Goal&_since=${encodeURIComponent(second.manifest.transactionTime)}`);
      expect(third.manifest.output).toEqual([]);
    });

    test('DELETE on the status URL cancels the export and removes its files', async () => {
      const { manifest, statusUrl } = await exportAll('$export?_type=Patient');
      const cancel = await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${server.token}` } });
      expect(cancel.status).toBe(202);
      expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${server.token}` } })).status).toBe(404);
      expect((await fetch(manifest.output[0].url, { headers: { authorization: `Bearer ${server.token}` } })).status).toBe(404);
    });

    test('a patient/ token cannot start an export; a system/ token only of the types it reads', async () => {
      const patientToken = await issueTestToken(server.server, 'patient/*.rs', '1h', { patient: ADA });
      const refused = await kickOff('$export', { token: patientToken });
      expect(refused.status).toBe(403);
      expect(refused.body.issue[0].diagnostics).toContain('system/');
      const goalsOnly = await issueTestToken(server.server, 'system/Goal.read');
      expect((await kickOff('$export?_type=Patient', { token: goalsOnly })).status).toBe(403);
      const { manifest } = await exportAll('$export', { token: goalsOnly });
      expect(manifest.output.map((o) => o.type)).toEqual(['Goal']);
    });

    test('kick-off checks its parameters: Prefer respond-async, _outputFormat, unsupported ones 400 unless lenient', async () => {
      expect((await kickOff('$export', { prefer: '' })).status).toBe(400);
      expect((await kickOff('$export?_outputFormat=text/csv')).status).toBe(400);
      expect((await kickOff('$export?_outputFormat=ndjson&_type=Patient')).status).toBe(202);
      const strict = await kickOff('$export?_elements=id');
      expect(strict.status).toBe(400);
      expect(strict.body.issue[0].diagnostics).toContain('_elements');
      const lenient = await kickOff('$export?_type=Patient&_elements=id', { prefer: 'respond-async, handling=lenient' });
      expect(lenient.status).toBe(202);
    });

    test('an export outlives its process: a job claimed by a process that died is resumed by another once the lease runs out', async () => {
      const quiet = await sibling({ enabled: false, pollMs: 20, leaseMs: 2_000 });
      const res = await kickOff('$export?_type=Goal,Patient', { at: quiet });
      expect(res.status).toBe(202);
      const statusUrl = res.headers.get('content-location') as string;
      // The job may already be taken by the running server; if not, a "dead" process claims it.
      await claimJob(server.db, ['bulk-export'], 'worker-that-died', 1);
      const manifest = await manifestOf(statusUrl);
      // Downloaded through the process that did not write the files.
      const files = await download({ ...manifest, output: manifest.output.map((o) => ({ ...o, url: o.url.replace(server.url, quiet.url) })) });
      expect(idsOf(files, 'Patient')).toEqual([ADA, BO, 'kp-bx-cy']);
      expect(idsOf(files, 'Goal')).toHaveLength(5);
    });
  });
}
