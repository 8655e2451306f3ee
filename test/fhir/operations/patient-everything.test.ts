import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../../harness.ts';

/**
 * Patient $everything over real HTTP: a person's compartment plus the directory resources it
 * references, each once; _type, _since, _count with next links that neither skip nor repeat while
 * resources are written between pages; SMART scopes applied to every entry. Fictional persons.
 */
const ADA = 'kp-ev-ada';
const BO = 'kp-ev-bo';

const fixtures = [
  { resourceType: 'Patient', id: ADA, name: [{ family: 'Testperson', given: ['Ada'] }], managingOrganization: { reference: 'Organization/kp-ev-mco' } },
  { resourceType: 'Patient', id: BO, name: [{ family: 'Testperson', given: ['Bo'] }] },
  { resourceType: 'Organization', id: 'kp-ev-mco', name: 'Test MCO' },
  { resourceType: 'Organization', id: 'kp-ev-unrelated', name: 'Unrelated Org' },
  { resourceType: 'Practitioner', id: 'kp-ev-provider', name: [{ family: 'Testprovider' }] },
  { resourceType: 'RelatedPerson', id: 'kp-ev-guardian', patient: { reference: `Patient/${ADA}` }, name: [{ family: 'Testguardian' }] },
  { resourceType: 'Goal', id: 'kp-ev-goal-ada', lifecycleStatus: 'active', description: { text: 'Walk daily' }, subject: { reference: `Patient/${ADA}` } },
  { resourceType: 'Goal', id: 'kp-ev-goal-bo', lifecycleStatus: 'active', description: { text: 'Cook weekly' }, subject: { reference: `Patient/${BO}` } },
  {
    resourceType: 'CarePlan', id: 'kp-ev-plan-ada', status: 'active', intent: 'plan', subject: { reference: `Patient/${ADA}` },
    author: { reference: 'Practitioner/kp-ev-provider' }, goal: [{ reference: 'Goal/kp-ev-goal-ada' }],
  },
  // The guardian is in Ada's compartment and referenced by the plan: it must appear once.
  { resourceType: 'ServiceRequest', id: 'kp-ev-sr-ada', status: 'active', intent: 'order', subject: { reference: `Patient/${ADA}` }, requester: { reference: 'Practitioner/kp-ev-provider' }, performer: [{ reference: 'RelatedPerson/kp-ev-guardian' }] },
  { resourceType: 'Observation', id: 'kp-ev-obs-bo', status: 'final', code: { text: 'Pulse' }, subject: { reference: `Patient/${BO}` } },
];

type Entry = { resource?: { resourceType: string; id?: string }; search?: { mode?: string } };
type Page = { entry?: Entry[]; link?: { relation: string; url: string }[] };

/** The record's resources; the Provenance of each write is in the compartment too, not counted here. */
function keys(bundle: Page): string[] {
  return (bundle.entry ?? [])
    .filter((e) => e.resource && e.resource.resourceType !== 'OperationOutcome' && e.resource.resourceType !== 'Provenance')
    .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
}

const ADA_RECORD = [
  `Patient/${ADA}`, 'CarePlan/kp-ev-plan-ada', 'Goal/kp-ev-goal-ada', 'RelatedPerson/kp-ev-guardian', 'ServiceRequest/kp-ev-sr-ada',
  'Organization/kp-ev-mco', 'Practitioner/kp-ev-provider',
].sort();

for (const kind of testDatabases) {
  describe(`Patient $everything (${kind})`, () => {
    let server: TestServer;

    async function allPages(path: string, token = server.token): Promise<{ keys: string[]; pages: number }> {
      const found: string[] = [];
      let url: string | undefined = path;
      let pages = 0;
      while (url) {
        const res = await http(server, 'GET', url.replace(server.url, ''), { headers: { authorization: `Bearer ${token}` } });
        expect(res.status, res.text).toBe(200);
        found.push(...keys(res.body as Page));
        url = (res.body as Page).link?.find((l) => l.relation === 'next')?.url;
        pages++;
      }
      return { keys: found, pages };
    }

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

    test("returns the patient, the compartment and the referenced directory resources, each once, and nothing of another person's", async () => {
      const res = await http(server, 'GET', `Patient/${ADA}/$everything`);
      expect(res.status, res.text).toBe(200);
      expect(res.body.type).toBe('searchset');
      expect(keys(res.body).sort()).toEqual(ADA_RECORD);
      expect(keys(res.body)[0]).toBe(`Patient/${ADA}`);
      const modes = Object.fromEntries((res.body.entry as Entry[]).map((e) => [`${e.resource?.resourceType}/${e.resource?.id}`, e.search?.mode]));
      expect(modes['Practitioner/kp-ev-provider']).toBe('include');
      expect(modes['Goal/kp-ev-goal-ada']).toBe('match');
    });

    test('pages by _count with next links that neither skip nor repeat when resources are written between pages', async () => {
      const first = await http(server, 'GET', `Patient/${ADA}/$everything?_count=2`);
      expect(keys(first.body)).toHaveLength(2);
      // A resource sorting before the next page's position, written now, does not shift the pages.
      await http(server, 'PUT', 'Goal/kp-ev-goal-ada-0', { body: { resourceType: 'Goal', id: 'kp-ev-goal-ada-0', lifecycleStatus: 'active', description: { text: 'Read' }, subject: { reference: `Patient/${ADA}` } } });
      const next = (first.body as Page).link?.find((l) => l.relation === 'next')?.url as string;
      const rest = await allPages(next);
      const seen = [...keys(first.body), ...rest.keys];
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((k) => k !== 'Goal/kp-ev-goal-ada-0').sort()).toEqual(ADA_RECORD);
      expect(rest.pages).toBeGreaterThanOrEqual(3);
      await http(server, 'DELETE', 'Goal/kp-ev-goal-ada-0');
    });

    test('_type limits the types returned; _since the resources last updated after it', async () => {
      const goals = await http(server, 'GET', `Patient/${ADA}/$everything?_type=Goal,Practitioner`);
      expect(keys(goals.body).sort()).toEqual(['Goal/kp-ev-goal-ada', 'Practitioner/kp-ev-provider']);
      const read = await http(server, 'GET', `Goal/kp-ev-goal-ada`);
      const since = read.body.meta.lastUpdated as string;
      await http(server, 'PUT', 'CarePlan/kp-ev-plan-ada', { body: { ...fixtures[8], description: 'changed' } });
      const changed = await http(server, 'GET', `Patient/${ADA}/$everything?_since=${encodeURIComponent(since)}`);
      expect(keys(changed.body)).toContain('CarePlan/kp-ev-plan-ada');
      expect(keys(changed.body)).not.toContain('Goal/kp-ev-goal-ada');
      const bad = await http(server, 'GET', `Patient/${ADA}/$everything?_since=yesterday`);
      expect(bad.status).toBe(400);
      expect(bad.body.issue[0].diagnostics).toContain('instant');
    });

    test('an unsupported parameter is 400, or ignored with Prefer: handling=lenient', async () => {
      const strict = await http(server, 'GET', `Patient/${ADA}/$everything?start=2026-01-01`);
      expect(strict.status).toBe(400);
      expect(strict.body.issue[0].diagnostics).toContain('start');
      const lenient = await http(server, 'GET', `Patient/${ADA}/$everything?start=2026-01-01`, { headers: { prefer: 'handling=lenient' } });
      expect(lenient.status).toBe(200);
      expect(keys(lenient.body).sort()).toEqual(ADA_RECORD);
      expect(lenient.body.entry.at(-1).resource.resourceType).toBe('OperationOutcome');
    });

    test("a patient/ token gets its patient's record from Patient/$everything and nothing of another person's", async () => {
      const token = await issueTestToken(server.server, 'patient/*.rs', '1h', { patient: ADA });
      const { keys: got } = await allPages('Patient/$everything', token);
      expect(got.sort()).toEqual(ADA_RECORD);
      const other = await http(server, 'GET', `Patient/${BO}/$everything`, { headers: { authorization: `Bearer ${token}` } });
      expect(other.status).toBe(404);
    });

    test('Patient/$everything over several patients: a token reaching two persons gets both records, each entry once, over stable pages', async () => {
      // patient/ scopes for Bo, and user/ scopes as Ada's guardian: two persons' compartments.
      const token = await issueTestToken(server.server, 'patient/*.rs user/*.rs', '1h', { patient: BO, fhirUser: 'RelatedPerson/kp-ev-guardian' });
      const { keys: got, pages } = await allPages('Patient/$everything?_count=3', token);
      expect(new Set(got).size).toBe(got.length);
      expect(got.sort()).toEqual([...ADA_RECORD, `Patient/${BO}`, 'Goal/kp-ev-goal-bo', 'Observation/kp-ev-obs-bo'].sort());
      expect(pages).toBeGreaterThanOrEqual(4);
    });

    test('entries are limited to the types the scopes grant', async () => {
      const token = await issueTestToken(server.server, 'patient/Patient.rs patient/Goal.rs', '1h', { patient: ADA });
      const res = await http(server, 'GET', `Patient/${ADA}/$everything`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, res.text).toBe(200);
      expect(keys(res.body).sort()).toEqual(['Goal/kp-ev-goal-ada', `Patient/${ADA}`]);
    });

    test('Patient/$everything with a token that reaches every patient points to the instance form and to $export', async () => {
      const res = await http(server, 'GET', 'Patient/$everything');
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toContain('Patient/$export');
    });
  });
}
