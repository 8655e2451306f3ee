import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer, type TestTokenClaims } from '../../harness.ts';

/**
 * SMART scopes enforced on every interaction over real HTTP: patient/ scopes confine to the launch
 * patient's compartment, user/ scopes follow fhirUser (a person, a guardian), v2 criteria narrow,
 * and nothing — search, read, history, includes, chains, _has, operations, bundle entries, writes —
 * reaches another person's data. Two fictional persons: kp-ada and kp-bo.
 */
const ADA = 'kp-ada';
const BO = 'kp-bo';
const LAB = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] };
const VITAL = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] };

const fixtures = [
  { resourceType: 'Patient', id: ADA, name: [{ family: 'Testperson', given: ['Ada'] }] },
  { resourceType: 'Patient', id: BO, name: [{ family: 'Testperson', given: ['Bo'] }] },
  { resourceType: 'RelatedPerson', id: 'kp-guardian-of-ada', patient: { reference: `Patient/${ADA}` }, name: [{ family: 'Testguardian' }] },
  { resourceType: 'Goal', id: 'goal-ada', lifecycleStatus: 'active', description: { text: 'Walk daily' }, subject: { reference: `Patient/${ADA}` } },
  { resourceType: 'Goal', id: 'goal-bo', lifecycleStatus: 'active', description: { text: 'Cook weekly' }, subject: { reference: `Patient/${BO}` } },
  // Ada's plan also points at Bo's goal (a data error the server must not turn into a leak).
  { resourceType: 'CarePlan', id: 'plan-ada', status: 'active', intent: 'plan', subject: { reference: `Patient/${ADA}` }, goal: [{ reference: 'Goal/goal-ada' }, { reference: 'Goal/goal-bo' }] },
  { resourceType: 'CarePlan', id: 'plan-bo', status: 'active', intent: 'plan', subject: { reference: `Patient/${BO}` }, goal: [{ reference: 'Goal/goal-ada' }] },
  { resourceType: 'Observation', id: 'obs-ada-lab', status: 'final', category: [LAB], code: { text: 'A1c' }, subject: { reference: `Patient/${ADA}` } },
  { resourceType: 'Observation', id: 'obs-ada-vital', status: 'final', category: [VITAL], code: { text: 'Pulse' }, subject: { reference: `Patient/${ADA}` } },
  { resourceType: 'Observation', id: 'obs-bo-lab', status: 'final', category: [LAB], code: { text: 'A1c' }, subject: { reference: `Patient/${BO}` } },
  { resourceType: 'Task', id: 'task-ada-requested', status: 'requested', intent: 'order', for: { reference: `Patient/${ADA}` } },
  { resourceType: 'Task', id: 'task-ada-active', status: 'in-progress', intent: 'order', for: { reference: `Patient/${ADA}` } },
  { resourceType: 'Task', id: 'task-bo-requested', status: 'requested', intent: 'order', for: { reference: `Patient/${BO}` } },
  { resourceType: 'Practitioner', id: 'kp-provider', name: [{ family: 'Testprovider' }] },
];

function ids(bundle: { entry?: { resource?: { resourceType: string; id?: string }; search?: { mode?: string } }[] }, mode?: string): string[] {
  return (bundle.entry ?? [])
    .filter((e) => e.resource && e.resource.resourceType !== 'OperationOutcome' && (mode === undefined || e.search?.mode === mode))
    .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
    .sort();
}

for (const kind of testDatabases) {
  describe(`SMART scope enforcement (${kind})`, () => {
    let server: TestServer;
    const as = async (scope: string, claims: TestTokenClaims = {}) => {
      const token = await issueTestToken(server.server, scope, '1h', claims);
      return (method: string, path: string, body?: unknown) => http(server, method, path, { headers: { authorization: `Bearer ${token}` }, body });
    };

    beforeAll(async () => {
      server = await startTestServer(kind);
      for (const resource of fixtures) {
        const res = await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
        expect(res.status, `${resource.resourceType}/${resource.id}: ${res.text}`).toBeLessThan(300);
      }
    });
    afterAll(async () => {
      await server?.stop();
    });

    describe('patient/ scopes confine to the launch patient', () => {
      test('search, paging total and compartment search see only the patient\'s resources', async () => {
        const ada = await as('patient/*.rs', { patient: ADA });
        const plans = await ada('GET', 'CarePlan?_total=accurate&_count=1');
        expect(ids(plans.body)).toEqual(['CarePlan/plan-ada']);
        expect(plans.body.total).toBe(1);
        expect(ids((await ada('GET', 'Goal')).body)).toEqual(['Goal/goal-ada']);
        expect(ids((await ada('GET', `Patient/${BO}/CarePlan`)).body)).toEqual([]);
        expect(ids((await ada('GET', '?_type=CarePlan,Goal,Patient')).body)).toEqual(['CarePlan/plan-ada', 'Goal/goal-ada', `Patient/${ADA}`]);
        const everything = await ada('GET', '?_count=100');
        expect(everything.status).toBe(200);
        expect(ids(everything.body).filter((key) => /kp-bo|-bo-|plan-bo|goal-bo/.test(key))).toEqual([]);
        expect(ids(everything.body)).toEqual(expect.arrayContaining(['CarePlan/plan-ada', 'Practitioner/kp-provider']));
      });

      test('read and vread of another patient\'s resource are 404, their own 200', async () => {
        const ada = await as('patient/*.rs', { patient: ADA });
        expect((await ada('GET', 'CarePlan/plan-ada')).status).toBe(200);
        const other = await ada('GET', 'CarePlan/plan-bo');
        expect(other.status).toBe(404);
        expect(other.body.issue[0].diagnostics).toContain('not among the resources this access token reaches');
        expect((await ada('GET', 'CarePlan/plan-bo/_history/1')).status).toBe(404);
        expect((await ada('GET', `Patient/${BO}`)).status).toBe(404);
        expect((await ada('GET', `Patient/${ADA}`)).status).toBe(200);
      });

      test('_include and _revinclude leave out what reaches another patient', async () => {
        const ada = await as('patient/*.rs', { patient: ADA });
        const included = await ada('GET', 'CarePlan?_include=CarePlan:goal');
        expect(ids(included.body, 'include')).toEqual(['Goal/goal-ada']);
        const reverse = await ada('GET', 'Goal?_id=goal-ada&_revinclude=CarePlan:goal');
        expect(ids(reverse.body, 'include')).toEqual(['CarePlan/plan-ada']);
        const star = await ada('GET', 'CarePlan?_include=*&_revinclude=*');
        expect(star.status).toBe(200);
        expect(ids(star.body, 'include')).toEqual([`Patient/${ADA}`, 'Goal/goal-ada'].sort());
        const iterate = await ada('GET', `Patient?_id=${ADA}&_revinclude=CarePlan:subject&_include:iterate=CarePlan:goal`);
        expect(ids(iterate.body, 'include')).toEqual(['CarePlan/plan-ada', 'Goal/goal-ada']);
      });

      test('_has and chains cannot look into another patient\'s resources', async () => {
        const ada = await as('patient/*.rs', { patient: ADA });
        // Bo's plan refers to Ada's goal; Ada's token may not learn that.
        const has = await ada('GET', `Goal?_has:CarePlan:goal:subject=Patient/${BO}`);
        expect(has.status).toBe(200);
        expect(ids(has.body)).toEqual([]);
        expect(ids((await http(server, 'GET', `Goal?_has:CarePlan:goal:subject=Patient/${BO}`)).body)).toEqual(['Goal/goal-ada']);
        expect(ids((await ada('GET', `Goal?_has:CarePlan:goal:subject=Patient/${ADA}`)).body)).toEqual(['Goal/goal-ada']);
        // Ada's plan refers to Bo's goal; a chain through it must not match on Bo's data.
        const chained = await ada('GET', `CarePlan?goal.subject=Patient/${BO}`);
        expect(chained.status).toBe(200);
        expect(ids(chained.body)).toEqual([]);
        expect(ids((await ada('GET', `CarePlan?goal.subject=Patient/${ADA}`)).body)).toEqual(['CarePlan/plan-ada']);
        // The same chain with full access does match: the narrowing is what hides it.
        expect(ids((await http(server, 'GET', `CarePlan?goal.subject=Patient/${BO}`)).body)).toEqual(['CarePlan/plan-ada']);
      });

      test('history lists only granted resources; another patient\'s history is 404', async () => {
        const ada = await as('patient/*.rs', { patient: ADA });
        expect(ids((await ada('GET', 'CarePlan/_history')).body)).toEqual(['CarePlan/plan-ada']);
        expect((await ada('GET', 'CarePlan/plan-bo/_history')).status).toBe(404);
        expect((await ada('GET', 'CarePlan/plan-ada/_history')).status).toBe(200);
      });

      test('$document and $render of another patient\'s plan are refused', async () => {
        const ada = await as('patient/*.rs', { patient: ADA });
        expect((await ada('GET', 'CarePlan/plan-bo/$document')).status).toBe(404);
        expect((await ada('GET', 'CarePlan/plan-bo/$render')).status).toBe(404);
        // Their own plan gets past access (it was not imported from a document: 422).
        expect((await ada('GET', 'CarePlan/plan-ada/$document')).status).toBe(422);
      });

      test('directory types outside the compartment are readable, other types are not', async () => {
        const ada = await as('patient/*.rs', { patient: ADA });
        expect((await ada('GET', 'Practitioner/kp-provider')).status).toBe(200);
        const binary = await ada('GET', 'Binary');
        expect(binary.status).toBe(403);
        expect(binary.body.issue[0].diagnostics).toContain('not in it');
      });

      test('writes must stay inside the compartment (403 naming why)', async () => {
        const ada = await as('patient/*.cruds', { patient: ADA });
        const own = await ada('POST', 'Goal', { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'Read' }, subject: { reference: `Patient/${ADA}` } });
        expect(own.status).toBe(201);
        const other = await ada('POST', 'Goal', { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'Read' }, subject: { reference: `Patient/${BO}` } });
        expect(other.status).toBe(403);
        expect(other.body.issue[0].diagnostics).toContain(`compartment of Patient/${ADA}`);
        const moved = await ada('PUT', 'Goal/goal-bo', { ...fixtures[4], description: { text: 'Taken over' } });
        expect(moved.status).toBe(403);
        expect((await ada('DELETE', 'CarePlan/plan-bo')).status).toBe(403);
        const conditional = await ada('DELETE', `Goal?subject=Patient/${BO}`);
        expect(conditional.status).toBeLessThan(300); // matches nothing it may see: deletes nothing
        expect((await http(server, 'GET', 'Goal/goal-bo')).status).toBe(200);
      });

      test('v1 patient/*.read works and grants no writes', async () => {
        const ada = await as('patient/*.read', { patient: ADA });
        expect(ids((await ada('GET', 'Goal')).body)).toEqual(expect.arrayContaining(['Goal/goal-ada']));
        expect(ids((await ada('GET', 'Goal')).body)).not.toContain('Goal/goal-bo');
        expect((await ada('POST', 'Goal', { resourceType: 'Goal' })).status).toBe(403);
      });

      test('403 names the scope needed; patient/ scopes without a patient claim give nothing, saying so', async () => {
        const goalsOnly = await as('patient/Goal.rs', { patient: ADA });
        const denied = await goalsOnly('GET', 'CarePlan/plan-ada');
        expect(denied.status).toBe(403);
        expect(denied.body.issue[0].diagnostics).toContain('patient/CarePlan.r');
        const noPatient = await as('patient/*.rs');
        const res = await noPatient('GET', 'Goal');
        expect(res.status).toBe(403);
        expect(res.body.issue[0].diagnostics).toContain('no patient claim');
      });
    });

    describe('v2 criteria', () => {
      test('patient/Observation.rs?category=laboratory narrows search and refuses reads outside it', async () => {
        const labs = await as('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory', { patient: ADA });
        expect(ids((await labs('GET', 'Observation')).body)).toEqual(['Observation/obs-ada-lab']);
        expect((await labs('GET', 'Observation/obs-ada-lab')).status).toBe(200);
        expect((await labs('GET', 'Observation/obs-ada-vital')).status).toBe(404);
        expect((await labs('GET', 'Observation/obs-bo-lab')).status).toBe(404);
      });

      test('user/Task.rs?status=requested sees requested Tasks only; several grants add up', async () => {
        const requested = await as('user/Task.rs?status=requested');
        expect(ids((await requested('GET', 'Task')).body)).toEqual(['Task/task-ada-requested', 'Task/task-bo-requested']);
        expect((await requested('GET', 'Task/task-ada-active')).status).toBe(404);
        const either = await as('user/Task.rs?status=requested user/Task.rs?status=in-progress');
        expect(ids((await either('GET', 'Task')).body)).toEqual(['Task/task-ada-active', 'Task/task-ada-requested', 'Task/task-bo-requested']);
        const plain = await as('user/Task.rs?status=requested user/Task.rs');
        expect(ids((await plain('GET', 'Task?_count=10')).body)).toHaveLength(3);
      });

      test('criteria the type cannot answer grant nothing, never everything', async () => {
        const broken = await as('user/Task.rs?no-such-parameter=1');
        expect(ids((await broken('GET', 'Task')).body)).toEqual([]);
        expect((await broken('GET', 'Task/task-ada-requested')).status).toBe(404);
      });

      test('a write under criteria must meet them', async () => {
        const writer = await as('user/Task.cruds?status=requested');
        const ok = await writer('POST', 'Task', { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${ADA}` } });
        expect(ok.status).toBe(201);
        const outside = await writer('POST', 'Task', { resourceType: 'Task', status: 'in-progress', intent: 'order', for: { reference: `Patient/${ADA}` } });
        expect(outside.status).toBe(403);
        expect(outside.body.issue[0].diagnostics).toContain('matching status=requested');
      });
    });

    describe('user/ scopes follow fhirUser', () => {
      test('a guardian (RelatedPerson) sees only the person they are related to', async () => {
        const guardian = await as('user/*.rs', { fhirUser: 'RelatedPerson/kp-guardian-of-ada' });
        expect(ids((await guardian('GET', 'CarePlan')).body)).toEqual(['CarePlan/plan-ada']);
        expect((await guardian('GET', 'CarePlan/plan-bo')).status).toBe(404);
        expect((await guardian('GET', `Patient/${ADA}`)).status).toBe(200);
      });

      test('a person (Patient fhirUser) sees only themselves', async () => {
        const bo = await as('user/*.rs', { fhirUser: `Patient/${BO}` });
        expect(ids((await bo('GET', 'CarePlan')).body)).toEqual(['CarePlan/plan-bo']);
        expect((await bo('GET', 'Goal/goal-ada')).status).toBe(404);
      });

      test('a practitioner is not confined by identity (role rules come with the workflow)', async () => {
        const provider = await as('user/CarePlan.rs', { fhirUser: 'Practitioner/kp-provider' });
        expect(ids((await provider('GET', 'CarePlan')).body)).toEqual(['CarePlan/plan-ada', 'CarePlan/plan-bo']);
      });
    });

    describe('batch and transaction entries', () => {
      test('a transaction with one forbidden entry fails whole, naming the entry', async () => {
        const ada = await as('patient/*.cruds', { patient: ADA });
        const res = await ada('POST', '', {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'Swim' }, subject: { reference: `Patient/${ADA}` } }, request: { method: 'POST', url: 'Goal' } },
            { resource: { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'Swim' }, subject: { reference: `Patient/${BO}` } }, request: { method: 'POST', url: 'Goal' } },
          ],
        });
        expect(res.status).toBe(403);
        expect(res.body.issue[0].diagnostics).toContain('Bundle.entry[1] (POST Goal)');
        expect(ids((await http(server, 'GET', 'Goal?description=Swim')).body)).toEqual([]);
        const read = await ada('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: 'CarePlan/plan-bo' } }] });
        expect(read.status).toBe(404);
        expect(read.body.issue[0].diagnostics).toContain('Bundle.entry[0] (GET CarePlan/plan-bo)');
      });

      test('a batch entry outside the grant gets its own 403 or 404; the others succeed', async () => {
        const ada = await as('patient/*.cruds', { patient: ADA });
        const res = await ada('POST', '', {
          resourceType: 'Bundle',
          type: 'batch',
          entry: [
            { request: { method: 'GET', url: 'CarePlan/plan-bo' } },
            { resource: { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'Run' }, subject: { reference: `Patient/${BO}` } }, request: { method: 'POST', url: 'Goal' } },
            { request: { method: 'GET', url: 'CarePlan/plan-ada' } },
          ],
        });
        expect(res.status).toBe(200);
        expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3))).toEqual(['404', '403', '200']);
      });
    });
  });
}
