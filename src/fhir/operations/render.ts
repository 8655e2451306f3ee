import { KANSAS_CANONICAL_BASE } from '../../conformance/kansas-package.ts';
import { renderPlanHtml } from '../../documents/render.ts';
import type { PackagedOperationHandler } from './operation.ts';
import { storedPlanDocument } from './stored-plan-document.ts';

/**
 * `GET [base]/CarePlan/{id}/$render`: a printable, accessible HTML page of the whole plan for the
 * person and guardian (text/html). Definition: profiles/input/OperationDefinition-CarePlan-render.json.
 */
export const renderOperation: PackagedOperationHandler = {
  url: `${KANSAS_CANONICAL_BASE}/OperationDefinition/CarePlan-render`,
  async handle(ctx, call) {
    const document = await storedPlanDocument(ctx, call.id);
    return { status: 200, raw: { contentType: 'text/html; charset=utf-8', body: renderPlanHtml(document) } };
  },
};
