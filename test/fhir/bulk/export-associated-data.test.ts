import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../../harness.ts';
import { bulkDataClient, idsOf } from './bulk-data-client.ts';

/**
 * `includeAssociatedData` of a Bulk Data export (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters)
 * over real HTTP: the Provenance of the exported resources — all of them (RelevantProvenanceResources)
 * or each resource's latest (LatestProvenanceResources) — in the manifest's Provenance file, each
 * once, at system, Patient and Group level, with `_typeFilter` and `_since`, and only for a caller
 * whose system/ scopes read Provenance. Fictional persons.
 */
const ADA = 'kp-ad-ada';
const BO = 'kp-ad-bo';
const SUNFLOWER = {
  url: 'https://kanplan.org/fhir/StructureDefinition/ks-mco',
  valueCodeableConcept: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', code: 'sunflower' }] },
};

const TEST_JOBS = { enabled: true, pollMs: 20, leaseMs: 2_000 };
/** Two resources per part: the Provenance file takes several parts, so a Provenance targeting many resources crosses batches. */
const TEST_BULK = { batchSize: 2, retentionMs: 3_600_000 };

interface ProvenanceRow {
  id: string;
  target: { reference: string }[];
}

for (const kind of testDatabases) {
  describe(`Bulk Data $export includeAssociatedData (${kind})`, () => {
    let server: TestServer;
    const { kickOff, manifestOf, download, errorsOf, exportAll } = bulkDataClient(() => server);
    /** The server's Provenance of each write, by versioned target (`Goal/x/_history/1`), and the client's multi-target one. */
    const provenance = new Map<string, string>();
    let multi = '';

    const put = async (resource: { resourceType: string; id: string }) => {
      const res = await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
      expect(res.status, res.text).toBeLessThan(300);
    };
    const goal = (id: string, patient: string, lifecycleStatus = 'active') => ({ resourceType: 'Goal', id, lifecycleStatus, description: { text: 'Walk' }, subject: { reference: `Patient/${patient}` } });
    const of = (...versions: string[]) => versions.map((v) => provenance.get(v) as string).sort();

    beforeAll(async () => {
      server = await startTestServer(kind, { jobs: TEST_JOBS, bulkExport: TEST_BULK });
      await put({ resourceType: 'Patient', id: ADA, extension: [SUNFLOWER], name: [{ family: 'Testperson', given: ['Ada'] }] } as never);
      await put({ resourceType: 'Patient', id: BO, name: [{ family: 'Testperson', given: ['Bo'] }] } as never);
      await put(goal('kp-ad-goal-ada', ADA));
      await put(goal('kp-ad-goal-ada', ADA, 'completed'));
      await put(goal('kp-ad-goal-bo', BO));
      await put({ resourceType: 'CarePlan', id: 'kp-ad-plan-ada', status: 'active', intent: 'plan', subject: { reference: `Patient/${ADA}` } } as never);
      // A client's Provenance about two persons' resources: the latest for both, exported once.
      const own = await http(server, 'POST', 'Provenance', {
        body: { resourceType: 'Provenance', target: [{ reference: 'CarePlan/kp-ad-plan-ada' }, { reference: 'Goal/kp-ad-goal-bo' }], recorded: new Date().toISOString(), agent: [{ who: { display: 'Fictional Reviewer' } }] },
      });
      expect(own.status, own.text).toBe(201);
      multi = own.body.id as string;
      const all = await http(server, 'GET', 'Provenance?_count=100');
      for (const entry of all.body.entry as { resource: ProvenanceRow }[]) {
        if (entry.resource.id !== multi) provenance.set(entry.resource.target[0].reference, entry.resource.id);
      }
      expect(provenance.size).toBe(6);
    });
    afterAll(async () => {
      await server?.stop();
    });

    test('RelevantProvenanceResources at system level: every Provenance of the exported resources, each once, in the Provenance file after the types asked for', async () => {
      const { manifest, files } = await exportAll('$export?_type=Goal,CarePlan&includeAssociatedData=RelevantProvenanceResources');
      expect(manifest.output.map((o) => o.type)).toEqual(['Goal', 'CarePlan', 'Provenance']);
      expect(idsOf(files, 'Provenance')).toEqual([...of('Goal/kp-ad-goal-ada/_history/1', 'Goal/kp-ad-goal-ada/_history/2', 'Goal/kp-ad-goal-bo/_history/1', 'CarePlan/kp-ad-plan-ada/_history/1'), multi].sort());
    });

    test("LatestProvenanceResources: per exported resource only the Provenance written last, so an earlier version's is left out", async () => {
      const { files } = await exportAll('$export?_type=Goal,CarePlan&includeAssociatedData=LatestProvenanceResources');
      expect(idsOf(files, 'Provenance')).toEqual([...of('Goal/kp-ad-goal-ada/_history/2'), multi].sort());
    });

    test('Group level: only the Provenance of the members\' resources; a Provenance also about a non-member is exported once', async () => {
      const relevant = await exportAll('Group/ks-mco-sunflower/$export?_type=Goal,CarePlan&includeAssociatedData=RelevantProvenanceResources');
      expect(idsOf(relevant.files, 'Goal')).toEqual(['kp-ad-goal-ada']);
      expect(idsOf(relevant.files, 'Provenance')).toEqual([...of('Goal/kp-ad-goal-ada/_history/1', 'Goal/kp-ad-goal-ada/_history/2', 'CarePlan/kp-ad-plan-ada/_history/1'), multi].sort());
      // Without _type, Provenance is an exported compartment type too (its `patient`): one file holds both.
      const all = await exportAll('Group/ks-mco-sunflower/$export?includeAssociatedData=LatestProvenanceResources');
      expect(all.manifest.output.filter((o) => o.type === 'Provenance')).toHaveLength(1);
      expect(idsOf(all.files, 'Provenance')).toEqual([...of(`Patient/${ADA}/_history/1`, 'Goal/kp-ad-goal-ada/_history/2'), multi].sort());
    });

    test('Patient level with the patient parameter: only those persons\' resources\' Provenance', async () => {
      const res = await http(server, 'POST', 'Patient/$export', {
        body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Goal' }, { name: 'includeAssociatedData', valueString: 'RelevantProvenanceResources' }, { name: 'patient', valueReference: { reference: `Patient/${BO}` } }] },
        headers: { prefer: 'respond-async' },
      });
      expect(res.status, res.text).toBe(202);
      const everyone = await exportAll('Patient/$export?_type=Patient&includeAssociatedData=RelevantProvenanceResources');
      expect(idsOf(everyone.files, 'Provenance')).toEqual(of(`Patient/${ADA}/_history/1`, `Patient/${BO}/_history/1`));
      const files = await download(await manifestOf(res.headers.get('content-location') as string));
      expect(idsOf(files, 'Goal')).toEqual(['kp-ad-goal-bo']);
      expect(idsOf(files, 'Provenance')).toEqual([...of('Goal/kp-ad-goal-bo/_history/1'), multi].sort());
    });

    test('_typeFilter narrows the resources and so their Provenance', async () => {
      const { files } = await exportAll('$export?_type=Goal&_typeFilter=Goal?lifecycle-status=completed&includeAssociatedData=RelevantProvenanceResources');
      expect(idsOf(files, 'Goal')).toEqual(['kp-ad-goal-ada']);
      expect(idsOf(files, 'Provenance')).toEqual(of('Goal/kp-ad-goal-ada/_history/1', 'Goal/kp-ad-goal-ada/_history/2'));
    });

    test('a system/ token that does not read Provenance: 403, or with handling=lenient no Provenance and a warning in the error file', async () => {
      const goalsOnly = await issueTestToken(server.server, 'system/Goal.read');
      const refused = await kickOff('$export?_type=Goal&includeAssociatedData=LatestProvenanceResources', { token: goalsOnly });
      expect(refused.status).toBe(403);
      expect(refused.body.issue[0].diagnostics).toContain('system/Provenance.read');
      const lenient = await exportAll('$export?_type=Goal&includeAssociatedData=LatestProvenanceResources', { token: goalsOnly, prefer: 'respond-async, handling=lenient' });
      expect(lenient.manifest.output.map((o) => o.type)).toEqual(['Goal']);
      expect(await errorsOf(lenient.manifest, goalsOnly)).toEqual([expect.stringContaining('Provenance')]);
      const withProvenance = await issueTestToken(server.server, 'system/Goal.read system/Provenance.read');
      const granted = await exportAll('$export?includeAssociatedData=LatestProvenanceResources', { token: withProvenance });
      expect(granted.manifest.output.map((o) => o.type)).toEqual(['Goal', 'Provenance']);
    });

    test('an unknown value is 400; with handling=lenient it is ignored, the known one applies and the error file says so', async () => {
      const strict = await kickOff('$export?_type=Goal&includeAssociatedData=_NotesOfTheTcm');
      expect(strict.status).toBe(400);
      expect(strict.body.issue[0].diagnostics).toContain('includeAssociatedData=_NotesOfTheTcm');
      const lenient = await exportAll('$export?_type=Goal&includeAssociatedData=LatestProvenanceResources,_NotesOfTheTcm', { prefer: 'respond-async, handling=lenient' });
      expect(idsOf(lenient.files, 'Provenance')).toEqual([...of('Goal/kp-ad-goal-ada/_history/2'), multi].sort());
      expect(await errorsOf(lenient.manifest)).toEqual([expect.stringContaining('_NotesOfTheTcm')]);
    });

    test('with _since, only the Provenance written after it: a nightly export continues from the last one with nothing twice', async () => {
      const first = await exportAll('$export?_type=Goal&includeAssociatedData=RelevantProvenanceResources');
      await put(goal('kp-ad-goal-bo', BO, 'completed'));
      const bo2 = (await http(server, 'GET', 'Provenance?target=Goal/kp-ad-goal-bo&_count=10')).body.entry
        .map((e: { resource: ProvenanceRow }) => e.resource)
        .find((p: ProvenanceRow) => p.target[0].reference === 'Goal/kp-ad-goal-bo/_history/2').id as string;
      const since = encodeURIComponent(first.manifest.transactionTime);
      for (const which of ['RelevantProvenanceResources', 'LatestProvenanceResources']) {
        const next = await exportAll(`$export?_type=Goal&includeAssociatedData=${which}&_since=${since}`);
        expect(idsOf(next.files, 'Goal')).toEqual(['kp-ad-goal-bo']);
        expect(idsOf(next.files, 'Provenance')).toEqual([bo2]);
      }
      expect(idsOf(first.files, 'Provenance')).not.toContain(bo2);
    });
  });
}
