import { readFileSync } from 'node:fs';
import type { Bundle, CarePlan, Contract } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const PLAN_SIGNATURES = 'https://kanplan.org/fhir/StructureDefinition/ks-plan-signatures';
const SIGNER_ROLE = 'https://kanplan.org/fhir/CodeSystem/ks-signer-role';
const ROLE = 'https://kanplan.org/fhir/CodeSystem/ks-practitioner-role';
const document = (file: string): string => readFileSync(new URL(`../../bundles/documents/${file}`, import.meta.url), 'utf8');
type Caller = { url: string; token: string };

/** A signature as the app writes it: one signer, the caller, on one version of the plan. */
function signature(patient: string, plan: string, signer: string, role: 'person' | 'guardian', name = 'Fictional Signer'): Contract {
  return {
    resourceType: 'Contract',
    meta: { profile: [PLAN_SIGNATURES] },
    status: 'executed',
    subject: [{ reference: patient }],
    topicReference: { reference: plan },
    signer: [
      {
        type: { system: SIGNER_ROLE, code: role },
        party: { reference: signer, display: name },
        signature: [
          {
            type: [{ system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.7' }, { system: 'https://kanplan.org/fhir/CodeSystem/ks-plan-element', code: 'signature-electronic' }],
            when: '2026-10-01T15:00:00Z',
            who: { reference: signer, display: name },
          },
        ],
      },
    ],
  } as Contract;
}

const contracts = (bundle: Bundle): Contract[] => (bundle.entry ?? []).map((e) => e.resource as Contract).filter((r) => r.resourceType === 'Contract');

describe.each(testDatabases)('a person or guardian signs their plan (KS Plan Signatures) on %s', (kind) => {
  let server: TestServer;
  let tcm: Caller;
  let guardian: Caller;
  let person: Caller;
  let otherGuardian: Caller;
  let patient: string;
  let plan: CarePlan;
  let otherPlan: CarePlan;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const cast = [
      { resourceType: 'Organization', id: 'sig-tcm-agency', name: 'Example TCM agency (fictional)' },
      { resourceType: 'PractitionerRole', id: 'sig-tcm', organization: { reference: 'Organization/sig-tcm-agency' }, code: [{ coding: [{ system: ROLE, code: 'targeted-case-manager' }] }] },
    ];
    for (const resource of cast) expect((await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource })).status).toBe(201);
    const as = async (fhirUser: string): Promise<Caller> => ({ url: server.url, token: await issueTestToken(server.server, 'user/*.cruds', '1h', { fhirUser }) });
    tcm = await as('PractitionerRole/sig-tcm');
    const importing = async (file: string): Promise<CarePlan> => {
      const imported = await http(tcm, 'POST', 'CarePlan/$import-document', { raw: document(file), headers: { 'content-type': 'application/json' } });
      expect(imported.status, imported.text).toBe(201);
      return (await http(tcm, 'GET', imported.body.parameter.find((p: { name: string }) => p.name === 'carePlan').valueReference.reference)).body as CarePlan;
    };
    plan = await importing('avery-example.pcsp.json');
    otherPlan = await importing('sam-testperson.pcsp.json');
    patient = plan.subject?.reference as string;
    for (const [id, of] of [
      ['sig-guardian', patient],
      ['sig-other-guardian', otherPlan.subject?.reference],
    ]) {
      expect((await http(server, 'PUT', `RelatedPerson/${id}`, { body: { resourceType: 'RelatedPerson', id, patient: { reference: of }, name: [{ family: 'Signerperson' }] } })).status).toBe(201);
    }
    guardian = await as('RelatedPerson/sig-guardian');
    otherGuardian = await as('RelatedPerson/sig-other-guardian');
    person = await as(patient);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  const versioned = (p: CarePlan) => `CarePlan/${p.id}/_history/${p.meta?.versionId}`;

  it("a guardian signs their person's plan and reads it back, next to the document's signatures", async () => {
    const signed = await http(guardian, 'POST', 'Contract', { body: signature(patient, versioned(plan), 'RelatedPerson/sig-guardian', 'guardian') });
    expect(signed.status, signed.text).toBe(201);
    expect((await http(guardian, 'GET', `Contract/${signed.body.id}`)).status).toBe(200);
    const found = contracts((await http(guardian, 'GET', `Contract?patient=${patient}`)).body);
    // The guardian's signature and the one the PCSP document import wrote (its signatures section).
    expect(found.map((c) => c.signer?.[0]?.type?.code).sort()).toEqual(['guardian', 'person']);
    // An unfiltered search by the guardian shows only their person's signatures too.
    expect(contracts((await http(guardian, 'GET', 'Contract')).body).every((c) => c.subject?.[0]?.reference === patient)).toBe(true);
  });

  it('the person signs as the person', async () => {
    const signed = await http(person, 'POST', 'Contract', { body: signature(patient, `CarePlan/${plan.id}`, patient, 'person') });
    expect(signed.status, signed.text).toBe(201);
    const wrongRole = await http(person, 'POST', 'Contract', { body: signature(patient, `CarePlan/${plan.id}`, patient, 'guardian') });
    expect(wrongRole.status).toBe(403);
    expect(wrongRole.body.issue[0].diagnostics).toMatch(/^Rule ks-plan-signer: /);
  });

  it("another person's guardian can neither sign this plan nor see its signatures", async () => {
    // Filed under the other person: outside this guardian's reach (access, 403).
    const outside = await http(otherGuardian, 'POST', 'Contract', { body: signature(patient, versioned(plan), 'RelatedPerson/sig-other-guardian', 'guardian') });
    expect(outside.status).toBe(403);
    // Filed under their own person but signing this person's plan: the role rule refuses it.
    const wrongPlan = await http(otherGuardian, 'POST', 'Contract', { body: signature(otherPlan.subject?.reference as string, versioned(plan), 'RelatedPerson/sig-other-guardian', 'guardian') });
    expect(wrongPlan.status).toBe(403);
    expect(wrongPlan.body.issue[0].diagnostics).toMatch(/^Rule ks-plan-signer: .*may not create Contract/);
    expect(contracts((await http(otherGuardian, 'GET', `Contract?patient=${patient}`)).body)).toEqual([]);
    // Their own person's plan they may sign.
    const own = await http(otherGuardian, 'POST', 'Contract', { body: signature(otherPlan.subject?.reference as string, versioned(otherPlan), 'RelatedPerson/sig-other-guardian', 'guardian') });
    expect(own.status, own.text).toBe(201);
    expect((await http(guardian, 'GET', `Contract/${own.body.id}`)).status).toBe(404);
  });

  it('a guardian signs only as themselves and changes no signatures', async () => {
    const forSomeoneElse = await http(guardian, 'POST', 'Contract', { body: signature(patient, versioned(plan), 'RelatedPerson/sig-other-guardian', 'guardian') });
    expect(forSomeoneElse.status).toBe(403);
    const imported = contracts((await http(guardian, 'GET', `Contract?patient=${patient}`)).body).find((c) => c.signer?.[0]?.type?.code === 'person' && !c.signer[0].party?.reference);
    expect(imported).toBeDefined();
    const changed = await http(guardian, 'PUT', `Contract/${imported?.id}`, { body: { ...imported, status: 'revoked' } });
    expect(changed.status).toBe(403);
    expect((await http(guardian, 'DELETE', `Contract/${imported?.id}`)).status).toBe(403);
    // The targeted case manager still keeps the document's signatures (role rule off for practitioners).
    expect((await http(tcm, 'PUT', `Contract/${imported?.id}`, { body: imported })).status).toBe(200);
  });
});
