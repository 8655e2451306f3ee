import type { CarePlan } from '@medplum/fhirtypes';
import { mapResourcesToDocument } from './document-mapping.ts';
import { readPlanResources, type PlanStore } from './import-flow.ts';
import type { PlanDocument } from './plan-document.ts';

/** The export flow: the document a stored CarePlan was imported from, read through a PlanStore. */

/** The document a stored CarePlan was imported from. */
export async function exportPlanDocument(store: PlanStore, plan: CarePlan): Promise<PlanDocument> {
  return mapResourcesToDocument(plan, await readPlanResources(store, plan));
}
