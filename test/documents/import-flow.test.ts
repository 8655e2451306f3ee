import { describe, expect, it } from 'vitest';
import { exportPlanDocument } from '../../src/documents/export-flow.ts';
import { TransactionFailure, importPlanDocument } from '../../src/documents/import-flow.ts';
import type { BspDocument } from '../../src/documents/bsp/bsp-types.ts';
import type { PlanDocument } from '../../src/documents/plan-document.ts';
import { readExample } from './examples.ts';
import { SimulatedServer, storeOf } from './simulated-server.ts';

describe('importPlanDocument', () => {
  it('imports, reports counts, and re-imports without any transaction', async () => {
    const server = new SimulatedServer();
    const store = storeOf(server);
    const doc = readExample('avery-example.pcsp.json');
    const first = await importPlanDocument(doc, 'application/json', store);
    expect(first).toMatchObject({ ok: true, documentType: 'pcsp', planId: 'PCSP-TEST-AVERY-2026', summary: { created: 26, updated: 0, unchanged: 0 } });
    const again = await importPlanDocument(JSON.stringify(doc), 'application/yaml', store);
    expect(again).toMatchObject({ ok: true, summary: { created: 0, updated: 0, unchanged: 26 } });
    expect(store.transactions).toHaveLength(1);
    const plan = (await store.findPlan('PCSP-TEST-AVERY-2026'))!;
    expect(first.ok && first.carePlan).toBe(`CarePlan/${plan.id}`);
    expect(await exportPlanDocument(store, plan)).toStrictEqual(doc);
  });

  it('sends only the changed entries of an update', async () => {
    const server = new SimulatedServer();
    const store = storeOf(server);
    await importPlanDocument(readExample('avery-example.pcsp.json'), 'application/json', store);
    const doc = readExample('avery-example.pcsp.json') as PlanDocument & { strengths: string[] };
    doc.strengths = [...doc.strengths, 'Sings in tune'];
    const result = await importPlanDocument(doc, 'application/json', store);
    // Only the strengths Observation changed (the CarePlan narrative doesn't list strengths), plus
    // the Provenance of the import, which points at it.
    const entries = store.transactions[1]!.entry ?? [];
    expect(entries.map((e) => e.resource?.resourceType)).toEqual(['Observation', 'Provenance']);
    expect(entries[1]!.resource).toMatchObject({
      target: [{ reference: entries[0]!.fullUrl }],
      activity: { coding: [{ code: 'UPDATE' }] },
      agent: [{ who: { display: 'Taylor Casemanager' } }],
      entity: [{ role: 'source', what: { display: 'PCSP document PCSP-TEST-AVERY-2026' } }],
    });
    expect(result).toMatchObject({ ok: true, summary: { created: 0, updated: 1, unchanged: 25 } });
  });

  it('returns 400 with JSON pointers for an invalid document and sends no transaction', async () => {
    const store = storeOf(new SimulatedServer());
    const result = await importPlanDocument(readExample('invalid/format.date-not-iso.pcsp.json'), 'application/json', store);
    expect(result).toMatchObject({ ok: false, status: 400, outcome: { issue: [{ location: ['/effectivePeriod/start'] }] } });
    expect(store.transactions).toHaveLength(0);
  });

  it('refuses a BSP whose person does not match the PCSP Patient, or has none', async () => {
    const server = new SimulatedServer();
    const store = storeOf(server);
    const bsp = readExample('avery-example.bsp.json') as BspDocument;
    expect(await importPlanDocument(bsp, 'application/json', store)).toMatchObject({ ok: false, status: 422, outcome: { issue: [{ location: ['/person/medicaidId'] }, { location: ['/pcspPlanId'] }] } });
    await importPlanDocument(readExample('avery-example.pcsp.json'), 'application/json', store);
    const wrong = { ...bsp, person: { ...bsp.person, birthDate: '1994-03-13' } };
    expect(await importPlanDocument(wrong, 'application/json', store)).toMatchObject({ ok: false, status: 422, outcome: { issue: [{ location: ['/person/birthDate'] }] } });
    expect(await importPlanDocument(bsp, 'application/json', store)).toMatchObject({ ok: true });
  });

  it('translates a failed transaction entry back to the document part', async () => {
    const failure = new TransactionFailure(422, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'processing', diagnostics: 'Bundle.entry[2] (PUT Condition?...): bad', expression: ['Bundle.entry[2].resource.code'] }],
    });
    const store = storeOf(new SimulatedServer(), failure);
    const result = await importPlanDocument(readExample('avery-example.pcsp.json'), 'application/json', store);
    // Entries: Patient, CarePlan, then the first assessed need.
    expect(result).toMatchObject({ ok: false, status: 422, outcome: { issue: [{ location: ['/assessedNeeds/0'] }] } });
  });

  it('reports a syntax error as one issue at the document root', async () => {
    const result = await importPlanDocument('planId: [', 'application/yaml', storeOf(new SimulatedServer()));
    expect(result).toMatchObject({ ok: false, status: 400, outcome: { issue: [{ location: [''], code: 'structure' }] } });
  });
});
