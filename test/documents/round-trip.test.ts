import type { CarePlan, Goal, Observation, QuestionnaireResponse, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { identifierSystem } from '../../src/documents/canonical.ts';
import { listExampleDocuments } from '../../src/documents/example-documents.ts';
import { mapDocumentToBundle, mapResourcesToDocument, referencesToResolve, translateTransactionIssues } from '../../src/documents/document-mapping.ts';
import { identifiersOf } from '../../src/documents/mapping/plan-references.ts';
import { questionnaireByInstrument } from '../../src/documents/pcsp/assessment-questionnaires.ts';
import type { PcspDocument } from '../../src/documents/pcsp/pcsp-types.ts';
import type { PlanDocument } from '../../src/documents/plan-document.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator } from '../../src/validation/validator.ts';
import { readExample } from './examples.ts';
import { SimulatedServer } from './simulated-server.ts';

function importDocument(server: SimulatedServer, doc: PlanDocument): string[] {
  const existing = planResources(server, doc.planId);
  return server.transaction(mapDocumentToBundle(doc, existing).bundle).outcomes;
}

function storedPlan(server: SimulatedServer, planId: string): CarePlan {
  const [plan] = server.findByIdentifier('CarePlan', identifierSystem.planId, planId) as CarePlan[];
  if (!plan) {
    throw new Error(`no plan ${planId}`);
  }
  return plan;
}

/** What the $document operation reads: the plan and what it references. */
function planResources(server: SimulatedServer, planId: string): Resource[] {
  const plans = server.findByIdentifier('CarePlan', identifierSystem.planId, planId) as CarePlan[];
  return plans.flatMap((plan) => [plan, ...referencesToResolve(plan).flatMap((r) => server.store.get(r.reference!) ?? [])]);
}

function exportDocument(server: SimulatedServer, planId: string): PlanDocument {
  const plan = storedPlan(server, planId);
  return mapResourcesToDocument(plan, planResources(server, planId));
}

const originals = listExampleDocuments().filter((e) => !e.file.startsWith('updates/'));

describe('document → server → document', () => {
  const server = new SimulatedServer();
  beforeAll(() => {
    for (const { document } of originals) {
      importDocument(server, document);
    }
  });

  it.each(originals.map((e) => [e.file, e.document] as const))('%s comes back deep-equal', (_file, document) => {
    expect(exportDocument(server, document.planId)).toStrictEqual(document);
  });

  it.each(originals.map((e) => [e.file, e.document] as const))('re-importing %s changes nothing', (_file, document) => {
    const outcomes = importDocument(server, document);
    expect(outcomes.length).toBeGreaterThan(5);
    expect(new Set(outcomes)).toEqual(new Set(['unchanged']));
  });

  it('writes one CarePlan per document and never duplicates', () => {
    const plans = server.resources().filter((r) => r.resourceType === 'CarePlan');
    // Backup plans carry a plan-item identifier, not a plan id.
    const planIds = plans.flatMap((p) => (p as CarePlan).identifier?.filter((i) => i.system === identifierSystem.planId).map((i) => i.value) ?? []);
    expect(planIds.sort()).toEqual(originals.map((e) => e.document.planId).sort());
  });

  it('every stored resource passes base R4 and Kansas profile validation', () => {
    const validator = createResourceValidator(loadConformance());
    const errors = server
      .resources()
      .flatMap((r) => validator.validate(r).filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => `${r.resourceType}/${r.id}: ${i.diagnostics}`));
    expect(errors).toEqual([]);
  });

  it('links the BSP to its PCSP and the ISP to both', () => {
    const pcsp = storedPlan(server, 'PCSP-TEST-AVERY-2026');
    const bsp = storedPlan(server, 'BSP-TEST-AVERY-2026');
    const isp = storedPlan(server, 'ISP-TEST-AVERY-2026');
    expect(bsp.partOf?.[0]?.reference).toBe(`CarePlan/${pcsp.id}`);
    expect(isp.basedOn?.map((r) => r.reference)).toEqual([`CarePlan/${pcsp.id}`, `CarePlan/${bsp.id}`]);
  });
});

describe('importing a changed document', () => {
  it('updates the same resources, adds new ones and ends the removed goals, services and needs', () => {
    const server = new SimulatedServer();
    const original = readExample('avery-example.pcsp.json') as PcspDocument;
    const update = readExample('updates/avery-example.pcsp.update-1.json') as PcspDocument;
    importDocument(server, original);
    const countBefore = server.store.size;
    const outcomes = importDocument(server, update);
    expect(outcomes).toContain('updated');
    expect(outcomes).toContain('created');

    expect(exportDocument(server, update.planId)).toStrictEqual(update);

    const byItem = (value: string): Resource | undefined =>
      server.resources().find((r) => identifiersOf(r).some((i) => i.system === identifierSystem.planItem && i.value === value));
    expect((byItem('PCSP-TEST-AVERY-2026/goal/G2') as Goal).lifecycleStatus).toBe('cancelled');
    expect((byItem('PCSP-TEST-AVERY-2026/service/S2') as ServiceRequest).status).toBe('revoked');
    expect((byItem('PCSP-TEST-AVERY-2026/step/G1-S2') as { status: string }).status).toBe('cancelled');
    expect((byItem('PCSP-TEST-AVERY-2026/need/N2') as { clinicalStatus: { coding: { code: string }[] } }).clinicalStatus.coding[0]!.code).toBe('resolved');
    expect((byItem('PCSP-TEST-AVERY-2026/goal/G1') as Goal).lifecycleStatus).toBe('active');
    // New: need N4, goal G3, service S4; nothing deleted.
    expect(server.store.size).toBe(countBefore + 3);

    // Importing the update again is idempotent, including the ended items.
    expect(new Set(importDocument(server, update))).toEqual(new Set(['unchanged']));
  });
});

describe('the functional assessment QuestionnaireResponse', () => {
  const responsesOf = (server: SimulatedServer): QuestionnaireResponse[] =>
    server.resources().filter((r): r is QuestionnaireResponse => r.resourceType === 'QuestionnaireResponse');

  it('is stored once per PCSP, named by the plan and by the result Observations, and updated in place when the assessment changes', () => {
    const server = new SimulatedServer();
    const original = readExample('avery-example.pcsp.json') as PcspDocument;
    importDocument(server, original);
    const [response] = responsesOf(server);
    const plan = storedPlan(server, original.planId);
    expect(plan.supportingInfo).toContainEqual({ reference: `QuestionnaireResponse/${response!.id}` });
    const tier = server.findByIdentifier('Observation', identifierSystem.planItem, `${original.planId}/assessment/tier`)[0] as Observation;
    expect(tier.derivedFrom).toEqual([{ reference: `QuestionnaireResponse/${response!.id}` }]);

    // A reassessment with another instrument and a level of care instead of a tier (domain.md §4d:
    // MFEI replaces BASIS): same response, new answers; the tier Observation is ended as before.
    const reassessed: PcspDocument = { ...original, functionalAssessment: { instrument: 'mfei-idd', date: '2027-08-01', levelOfCare: 'Meets ICF-I/DD level of care' } };
    importDocument(server, reassessed);
    expect(responsesOf(server).map((r) => [r.id, r.questionnaire, r.authored, r.author])).toEqual([[response!.id, questionnaireByInstrument['mfei-idd'], '2027-08-01', undefined]]);
    expect((server.store.get(`Observation/${tier.id}`) as Observation).status).toBe('cancelled');
    expect(exportDocument(server, original.planId)).toStrictEqual(reassessed);
    expect(new Set(importDocument(server, reassessed))).toEqual(new Set(['unchanged']));
  });
});

describe('translating profile issues back to the document', () => {
  it('maps Bundle.entry[n] expressions to the JSON pointer of the document part', () => {
    const doc = readExample('avery-example.pcsp.json');
    const transaction = mapDocumentToBundle(doc);
    const goalEntry = transaction.bundle.entry!.findIndex((e) => e.resource?.resourceType === 'Goal');
    const translated = translateTransactionIssues(
      { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invariant', expression: [`Bundle.entry[${goalEntry}].resource.target[0]`], diagnostics: 'gol-1 failed' }] },
      transaction,
    );
    expect(translated.issue[0]).toMatchObject({ location: ['/goals/0'], diagnostics: '/goals/0: gol-1 failed' });
  });
});
