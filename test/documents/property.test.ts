import fc from 'fast-check';
import type { CarePlan, Goal, Resource } from '@medplum/fhirtypes';
import { planBspResources } from '../../src/documents/bsp/bsp-to-fhir.ts';
import { planIspResources } from '../../src/documents/isp/isp-to-fhir.ts';
import { exportPlanDocument } from '../../src/documents/export-flow.ts';
import { importPlanDocument } from '../../src/documents/import-flow.ts';
import { identifiersOf } from '../../src/documents/mapping/plan-references.ts';
import { mapDocumentToBundle, mapResourcesToDocument, referencesToResolve } from '../../src/documents/document-mapping.ts';
import type { PlanDocument } from '../../src/documents/plan-document.ts';
import { describe, expect, it } from 'vitest';
import { identifierSystem } from '../../src/documents/canonical.ts';
import { checkDocument } from '../../src/documents/check-document.ts';
import { bspDocument, ispDocument, pcspDocument } from './generated-documents.ts';
import { SimulatedServer, storeOf } from './simulated-server.ts';

function roundTrip(server: SimulatedServer, doc: PlanDocument): PlanDocument {
  server.transaction(mapDocumentToBundle(doc).bundle);
  const [plan] = server.findByIdentifier('CarePlan', identifierSystem.planId, doc.planId) as CarePlan[];
  const resources = referencesToResolve(plan!).flatMap((r) => server.store.get(r.reference!) ?? []);
  return mapResourcesToDocument(plan!, resources);
}

describe('property: generated documents round-trip losslessly', () => {
  it('generated documents are valid (the generators are honest)', () => {
    fc.assert(
      fc.property(pcspDocument, (doc) => {
        const check = checkDocument(doc);
        expect(check.ok ? [] : check.problems).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('PCSP → server → PCSP is deep-equal', () => {
    fc.assert(
      fc.property(pcspDocument, (doc) => {
        expect(roundTrip(new SimulatedServer(), doc)).toStrictEqual(doc);
      }),
      { numRuns: 150 },
    );
  });

  it('BSP and ISP → server → document are deep-equal', () => {
    const withPcsp = pcspDocument.chain((pcsp) => {
      const person = { medicaidId: pcsp.person.medicaidId, name: pcsp.person.name, birthDate: pcsp.person.birthDate };
      return fc.tuple(fc.constant(pcsp), bspDocument(pcsp.planId, person), ispDocument(pcsp.planId, person));
    });
    fc.assert(
      fc.property(withPcsp, ([pcsp, bsp, isp]) => {
        const checks = [checkDocument(bsp), checkDocument(isp)];
        expect(checks.flatMap((c) => (c.ok ? [] : c.problems))).toEqual([]);
        const server = new SimulatedServer();
        server.transaction(mapDocumentToBundle(pcsp).bundle);
        expect(roundTrip(server, bsp)).toStrictEqual(bsp);
        expect(roundTrip(server, isp)).toStrictEqual(isp);
      }),
      { numRuns: 100 },
    );
  });
});

describe('property: any version of a plan replaces any previous one', () => {
  it('import A, then B with the same planId and person: the plan exports as B, nothing left active from A', async () => {
    await fc.assert(
      fc.asyncProperty(pcspDocument, pcspDocument, async (a, generatedB) => {
        const b = { ...generatedB, planId: a.planId, person: a.person };
        const server = new SimulatedServer();
        const store = storeOf(server);
        expect(await importPlanDocument(a, 'application/json', store)).toMatchObject({ ok: true });
        expect(await importPlanDocument(b, 'application/json', store)).toMatchObject({ ok: true });
        const plan = (await store.findPlan(a.planId))!;
        expect(await exportPlanDocument(store, plan)).toStrictEqual(b);
        // Goals of A that B doesn't have are no longer active.
        const bGoals = new Set(b.goals.map((g) => `${a.planId}/goal/${g.id}`));
        const leftover = server
          .resources()
          .filter((r): r is Goal => r.resourceType === 'Goal')
          .filter((g) => !bGoals.has(g.identifier?.[0]?.value ?? '') && g.lifecycleStatus !== 'cancelled');
        expect(leftover).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});

/** Whether a resource left over from an earlier version is closed (docs/documents: "ended, not deleted"). */
function isEnded(resource: Resource): boolean {
  const r = resource as { status?: string; lifecycleStatus?: string; clinicalStatus?: { coding?: { code?: string }[] } };
  switch (resource.resourceType) {
    case 'Goal':
      return r.lifecycleStatus === 'cancelled';
    case 'Condition':
      return r.clinicalStatus?.coding?.[0]?.code === 'resolved';
    case 'ServiceRequest':
      return r.status === 'revoked';
    case 'Task':
      return r.status === 'cancelled' || r.status === 'completed';
    case 'Consent':
    case 'Flag':
      return r.status === 'inactive';
    case 'MedicationStatement':
      return r.status === 'stopped';
    default:
      return r.status === 'cancelled';
  }
}

describe('property: any version of a BSP or ISP replaces any previous one', () => {
  it('import A, then B with the same planId: exports as B, every item only A had is ended', async () => {
    const versions = pcspDocument.chain((pcsp) => {
      const person = { medicaidId: pcsp.person.medicaidId, name: pcsp.person.name, birthDate: pcsp.person.birthDate };
      return fc.tuple(fc.constant(pcsp), bspDocument(pcsp.planId, person), bspDocument(pcsp.planId, person), ispDocument(pcsp.planId, person), ispDocument(pcsp.planId, person));
    });
    await fc.assert(
      fc.asyncProperty(versions, async ([pcsp, bspA, generatedBspB, ispA, generatedIspB]) => {
        const server = new SimulatedServer();
        const store = storeOf(server);
        expect(await importPlanDocument(pcsp, 'application/json', store)).toMatchObject({ ok: true });
        const pairs: [PlanDocument, PlanDocument, readonly { identifier: { value?: string } }[]][] = [
          [bspA, { ...generatedBspB, planId: bspA.planId }, planBspResources({ ...generatedBspB, planId: bspA.planId })],
          [ispA, { ...generatedIspB, planId: ispA.planId }, planIspResources({ ...generatedIspB, planId: ispA.planId })],
        ];
        for (const [a, b, plannedB] of pairs) {
          expect(await importPlanDocument(a, 'application/json', store)).toMatchObject({ ok: true });
          expect(await importPlanDocument(b, 'application/json', store)).toMatchObject({ ok: true });
          expect(await exportPlanDocument(store, (await store.findPlan(a.planId))!)).toStrictEqual(b);
          const inB = new Set(plannedB.map((p) => p.identifier.value));
          const leftover = server
            .resources()
            .filter((r) => identifiersOf(r).some((i) => i.system === identifierSystem.planItem && i.value?.startsWith(`${a.planId}/`) && !inB.has(i.value)))
            .filter((r) => !isEnded(r));
          expect(leftover).toEqual([]);
        }
      }),
      { numRuns: 60 },
    );
  });
});

