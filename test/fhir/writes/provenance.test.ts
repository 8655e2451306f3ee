import { readFileSync } from 'node:fs';
import type { Bundle, Goal, Provenance, Resource } from '@medplum/fhirtypes';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../../src/auth/signing-key.ts';
import { http, startTestServer, TEST_KEY_FILE, testDatabases, type TestServer } from '../../harness.ts';

const TEST_ISSUER = 'https://kanplan.test/issuer';
const ROLE = 'PractitionerRole/tcm-fictional-role';
const ORGANIZATION = 'Organization/tcm-agency-fictional';

/** A token as the authorization server issues it to a client app for a signed-in care manager. */
async function userToken(scope: string, fhirUser: string, clientId: string): Promise<string> {
  const key = await loadOrCreateSigningKey(TEST_KEY_FILE);
  return new SignJWT({ scope, fhirUser, client_id: clientId })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject('user-fictional-tcm')
    .setIssuer(TEST_ISSUER)
    .setAudience(TEST_ISSUER)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key.privateKey);
}

const goal = (patient: string, text = 'Walk to the park twice a week'): Goal => ({
  resourceType: 'Goal',
  lifecycleStatus: 'active',
  description: { text },
  subject: { reference: `Patient/${patient}` },
});

describe.each(testDatabases)('Provenance of every write on %s', (kind) => {
  let server: TestServer;
  let user: TestServer;
  let patient: string;

  const provenanceOf = async (reference: string): Promise<Provenance[]> => {
    const found = await http(server, 'GET', `Provenance?target=${reference}`);
    expect(found.status).toBe(200);
    return ((found.body as Bundle).entry ?? []).map((e) => e.resource as Provenance);
  };
  const activityOf = (p: Provenance): string | undefined => p.activity?.coding?.[0]?.code;

  beforeAll(async () => {
    server = await startTestServer(kind);
    await http(server, 'PUT', ORGANIZATION, { body: { resourceType: 'Organization', id: 'tcm-agency-fictional', name: 'Fictional TCM Agency' } });
    await http(server, 'PUT', ROLE, {
      body: {
        resourceType: 'PractitionerRole',
        id: 'tcm-fictional-role',
        organization: { reference: ORGANIZATION },
        // A targeted case manager: the role rules let only a TCM import a PCSP.
        code: [{ coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-practitioner-role', code: 'targeted-case-manager' }] }],
      },
    });
    patient = (await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Testperson', given: ['Quinn'] }] } })).body.id;
    user = { ...server, token: await userToken('user/*.cruds', ROLE, 'care-app-fictional') };
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('records create, update, patch and delete with the versioned target, the activity, the user on behalf of their organization and the client app', async () => {
    const created = await http(user, 'POST', 'Goal', { body: goal(patient) });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await http(user, 'PUT', `Goal/${id}`, { body: { ...goal(patient, 'Walk to the park three times a week'), id } })).status).toBe(200);
    const patched = await http(user, 'PATCH', `Goal/${id}`, {
      raw: JSON.stringify([{ op: 'replace', path: '/lifecycleStatus', value: 'completed' }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(patched.status).toBe(200);
    expect((await http(user, 'DELETE', `Goal/${id}`)).status).toBe(200);

    const provenances = await provenanceOf(`Goal/${id}`);
    const byTarget = new Map(provenances.map((p) => [p.target[0].reference, p]));
    expect([...byTarget.keys()].sort()).toEqual([1, 2, 3, 4].map((v) => `Goal/${id}/_history/${v}`));
    expect([1, 2, 3, 4].map((v) => activityOf(byTarget.get(`Goal/${id}/_history/${v}`) as Provenance))).toEqual(['CREATE', 'UPDATE', 'UPDATE', 'DELETE']);
    const first = byTarget.get(`Goal/${id}/_history/1`) as Provenance;
    expect(first.agent[0]).toMatchObject({ who: { reference: ROLE }, onBehalfOf: { reference: ORGANIZATION }, type: { coding: [{ code: 'author' }] } });
    expect(first.agent[1]).toMatchObject({ who: { identifier: { value: 'care-app-fictional' } } });
    expect(first.recorded).toBeDefined();
  });

  it('is found with _revinclude=Provenance:target and by Provenance?target=, and the agent is searchable', async () => {
    const id = (await http(server, 'POST', 'Goal', { body: goal(patient) })).body.id as string;
    const bundle = (await http(server, 'GET', `Goal?_id=${id}&_revinclude=Provenance:target`)).body as Bundle;
    const included = (bundle.entry ?? []).filter((e) => e.resource?.resourceType === 'Provenance');
    expect(included).toHaveLength(1);
    expect((included[0].resource as Provenance).target[0].reference).toBe(`Goal/${id}/_history/1`);
    const byUser = (await http(user, 'POST', 'Goal', { body: goal(patient) })).body.id as string;
    const byAgent = (await http(server, 'GET', `Provenance?agent=${ROLE}&target=Goal/${byUser}`)).body as Bundle;
    expect(byAgent.entry).toHaveLength(1);
  });

  it('records conditional creates and updates, batch entries and transaction entries, one each, and none for an unchanged update', async () => {
    const conditional = await http(server, 'POST', 'Goal', { body: { ...goal(patient), identifier: [{ system: 'urn:test', value: 'cond-1' }] }, headers: { 'if-none-exist': 'identifier=urn:test|cond-1' } });
    const id = conditional.body.id as string;
    // The same conditional create again matches and writes nothing: no second Provenance.
    await http(server, 'POST', 'Goal', { body: { ...goal(patient), identifier: [{ system: 'urn:test', value: 'cond-1' }] }, headers: { 'if-none-exist': 'identifier=urn:test|cond-1' } });
    const updated = await http(server, 'PUT', 'Goal?identifier=urn:test|cond-1', { body: { ...goal(patient, 'changed'), identifier: [{ system: 'urn:test', value: 'cond-1' }] } });
    expect(updated.status).toBe(200);
    // Unchanged: no new version, no Provenance.
    await http(server, 'PUT', 'Goal?identifier=urn:test|cond-1', { body: { ...goal(patient, 'changed'), identifier: [{ system: 'urn:test', value: 'cond-1' }] } });
    expect((await provenanceOf(`Goal/${id}`)).map(activityOf).sort()).toEqual(['CREATE', 'UPDATE']);

    const bundleOf = (type: 'batch' | 'transaction'): Bundle => ({
      resourceType: 'Bundle',
      type,
      entry: [
        { fullUrl: 'urn:uuid:5d1a0c55-0000-4000-8000-000000000001', resource: goal(patient, `${type} one`), request: { method: 'POST', url: 'Goal' } },
        { resource: { ...goal(patient, `${type} two`), id: `${type}-goal-2` } as Resource, request: { method: 'PUT', url: `Goal/${type}-goal-2` } },
      ],
    });
    for (const type of ['batch', 'transaction'] as const) {
      const response = await http(server, 'POST', '', { body: bundleOf(type) });
      expect(response.status).toBe(200);
      for (const entry of (response.body as Bundle).entry ?? []) {
        const reference = (entry.response?.location ?? '').replace(/^.*\/fhir\//, '').replace(/\/_history\/.*$/, '');
        const found = await provenanceOf(reference);
        expect(found, reference).toHaveLength(1);
        expect(activityOf(found[0])).toBe('CREATE');
      }
    }
  });

  it('a failed transaction leaves no Provenance', async () => {
    const response = await http(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { ...goal(patient), id: 'rolled-back-goal' }, request: { method: 'PUT', url: 'Goal/rolled-back-goal' } },
          { resource: { resourceType: 'Goal', lifecycleStatus: 'not-a-status' }, request: { method: 'POST', url: 'Goal' } },
        ],
      },
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(await provenanceOf('Goal/rolled-back-goal')).toHaveLength(0);
  });

  it('a Provenance a client writes gets no Provenance of its own', async () => {
    const id = (await http(server, 'POST', 'Goal', { body: goal(patient) })).body.id as string;
    const own = await http(server, 'POST', 'Provenance', {
      body: { resourceType: 'Provenance', target: [{ reference: `Goal/${id}` }], recorded: new Date().toISOString(), agent: [{ who: { display: 'Fictional Reviewer' } }] },
    });
    expect(own.status).toBe(201);
    expect(await provenanceOf(`Provenance/${own.body.id}`)).toHaveLength(0);
    expect(await provenanceOf(`Goal/${id}`)).toHaveLength(2);
  });

  it('a Provenance cannot be changed or deleted (405 naming the rule)', async () => {
    const id = (await http(server, 'POST', 'Goal', { body: goal(patient) })).body.id as string;
    const [provenance] = await provenanceOf(`Goal/${id}`);
    const changed = await http(server, 'PUT', `Provenance/${provenance.id}`, { body: { ...provenance, recorded: '2020-01-01T00:00:00Z' } });
    expect(changed.status).toBe(405);
    expect(changed.body.issue[0].diagnostics).toMatch(/append-only/);
    expect((await http(server, 'DELETE', `Provenance/${provenance.id}`)).status).toBe(405);
  });

  it('$import-document writes one Provenance for the whole document, with versioned targets, the caller and the document', async () => {
    const document = readFileSync(new URL('../../../bundles/documents/casey-fictional.pcsp.json', import.meta.url), 'utf8');
    const imported = await http(user, 'POST', 'CarePlan/$import-document', { raw: document, headers: { 'content-type': 'application/json' } });
    expect(imported.status).toBe(201);
    const carePlan = imported.body.parameter.find((p: { name: string }) => p.name === 'carePlan').valueReference.reference as string;
    const found = await provenanceOf(carePlan);
    expect(found).toHaveLength(1);
    const provenance = found[0];
    expect(provenance.target.filter((t) => !/^[A-Za-z]+\/[^/]+\/_history\/\d+$/.test(t.reference ?? ''))).toEqual([]);
    expect(provenance.target.length).toBeGreaterThan(3);
    expect(provenance.agent[0]).toMatchObject({ who: { reference: ROLE }, onBehalfOf: { reference: ORGANIZATION }, type: { coding: [{ code: 'enterer' }] } });
    expect(provenance.agent.some((a) => a.type?.coding?.[0]?.code === 'author' && a.who.display)).toBe(true);
    expect(provenance.entity?.[0]?.role).toBe('source');
    // Every resource the import wrote has that one Provenance and no other.
    for (const target of provenance.target.slice(0, 5)) {
      expect(await provenanceOf((target.reference as string).replace(/\/_history\/\d+$/, ''))).toHaveLength(1);
    }
  });
});
