import { KANSAS_CANONICAL_BASE } from '../../conformance/kansas-package.ts';
import type { PackagedOperationHandler } from './operation.ts';
import { storedPlanDocument } from './stored-plan-document.ts';

/**
 * `GET [base]/CarePlan/{id}/$document`: the PCSP, BSP or ISP document the plan was imported from,
 * rebuilt from the stored resources (deep-equal to the imported document when nothing else
 * changed them). The answer is the JSON document, not a FHIR resource. Definition:
 * profiles/input/OperationDefinition-CarePlan-document.json.
 */
export const documentOperation: PackagedOperationHandler = {
  url: `${KANSAS_CANONICAL_BASE}/OperationDefinition/CarePlan-document`,
  async handle(ctx, call) {
    const document = await storedPlanDocument(ctx, call.id);
    return { status: 200, raw: { contentType: 'application/json', body: `${JSON.stringify(document, null, 2)}\n` } };
  },
};
