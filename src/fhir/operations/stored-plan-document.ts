import type { CarePlan } from '@medplum/fhirtypes';
import { exportPlanDocument } from '../../documents/export-flow.ts';
import { NotAPlanDocumentError } from '../../documents/document-mapping.ts';
import { StoredPlanError } from '../../documents/mapping/stored-plan.ts';
import type { PlanDocument } from '../../documents/plan-document.ts';
import type { FhirContext } from '../context.ts';
import { readCurrentResource } from '../interactions/read.ts';
import { businessRule, notFound } from '../../outcomes.ts';
import { planStoreOf } from './plan-store.ts';

/**
 * The document a stored CarePlan was imported from (shared by $document and $render). A CarePlan
 * written by other means, or edited so that it no longer holds a whole document, is a 422 that
 * says what is missing.
 */
export async function storedPlanDocument(ctx: FhirContext, id: string | undefined): Promise<PlanDocument> {
  if (id === undefined) {
    throw notFound('Call this operation on a CarePlan instance: GET /CarePlan/{id}/$document.');
  }
  const plan = (await readCurrentResource(ctx, 'CarePlan', id)) as CarePlan;
  try {
    return await exportPlanDocument(planStoreOf(ctx), plan);
  } catch (err) {
    if (err instanceof NotAPlanDocumentError || err instanceof StoredPlanError) {
      throw businessRule(`CarePlan/${id} cannot be returned as a document: ${err.message}`);
    }
    throw err;
  }
}
