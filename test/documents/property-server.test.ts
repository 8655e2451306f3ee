import fc from 'fast-check';
import type { Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BspDocument } from '../../src/documents/bsp/bsp-types.ts';
import type { IspDocument } from '../../src/documents/isp/isp-types.ts';
import type { PcspDocument } from '../../src/documents/pcsp/pcsp-types.ts';
import type { PlanDocument } from '../../src/documents/plan-document.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';
import { bspDocument, ispDocument, pcspDocument } from './generated-documents.ts';

/**
 * The round trip of generated documents through the real server and database, not the
 * simulated one of property.test.ts: what the store, the validator and the transaction code do to
 * text full of < > & quotes, emoji and surrounding spaces must not change the document
 * (issue 6: "property-based tests on generated documents"). Few runs: each is three imports.
 */

type Linked = { pcsp: PcspDocument; bsp: BspDocument; isp: IspDocument };

/** A PCSP with a BSP and an ISP for the same person; the ISP integrates both. */
const linkedDocuments: fc.Arbitrary<Linked> = pcspDocument.chain((pcsp) => {
  const person = { medicaidId: pcsp.person.medicaidId, name: pcsp.person.name, birthDate: pcsp.person.birthDate };
  return fc.tuple(bspDocument(pcsp.planId, person), ispDocument(pcsp.planId, person)).map(([bsp, isp]) => ({ pcsp, bsp, isp }));
});

/** Runs must not share plans or people: give each its own plan ids and Medicaid ID. */
function distinct(run: number, { pcsp, bsp, isp }: Linked): Linked {
  const medicaidId = `KS-TEST-9${String(run).padStart(6, '0')}`;
  const pcspPlanId = `P${run}-${pcsp.planId}`;
  const bspPlanId = `B${run}-${bsp.planId}`;
  return {
    pcsp: { ...pcsp, planId: pcspPlanId, person: { ...pcsp.person, medicaidId } },
    bsp: { ...bsp, planId: bspPlanId, pcspPlanId, person: { ...bsp.person, medicaidId } },
    isp: { ...isp, planId: `I${run}-${isp.planId}`, pcspPlanId, bspPlanId, person: { ...isp.person, medicaidId } },
  };
}

async function importDocument(server: TestServer, doc: PlanDocument): Promise<{ status: number; carePlan: string; body: unknown }> {
  const response = await http(server, 'POST', 'CarePlan/$import-document', { raw: JSON.stringify(doc), headers: { 'content-type': 'application/json' } });
  const reference = (response.body as Parameters).parameter?.find((p) => p.name === 'carePlan')?.valueReference?.reference ?? '';
  return { status: response.status, carePlan: reference, body: response.body };
}

describe.each(testDatabases)('property: generated documents round-trip through the real server (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('PCSP, BSP and ISP → $import-document → $document are deep-equal, and re-importing each writes nothing', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(linkedDocuments, async (generated) => {
        run += 1;
        const docs = distinct(run, generated);
        for (const doc of [docs.pcsp, docs.bsp, docs.isp]) {
          const imported = await importDocument(server, doc);
          expect(imported.status, JSON.stringify(imported.body)).toBe(201);
          const exported = await http(server, 'GET', `${imported.carePlan}/$document`);
          expect(exported.status).toBe(200);
          expect(exported.body).toStrictEqual(doc);
        }
        for (const doc of [docs.pcsp, docs.bsp, docs.isp]) {
          const again = await importDocument(server, doc);
          expect(again.status).toBe(200);
          const counts = (again.body as Parameters).parameter?.filter((p) => p.name === 'created' || p.name === 'updated').map((p) => p.valueInteger);
          expect(counts, doc.documentType).toEqual([0, 0]);
        }
      }),
      { numRuns: 25 },
    );
  }, 240_000);
});
