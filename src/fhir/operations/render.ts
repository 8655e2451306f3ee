import { renderPlanHtml } from '../../documents/render.ts';
import type { FhirOperation } from './operation.ts';
import { storedPlanDocument } from './plan-document.ts';

/**
 * `GET [base]/CarePlan/{id}/$render`: a printable, accessible HTML page of the whole plan for the
 * person and guardian (text/html).
 */
export const renderOperation: FhirOperation = {
  definition: {
    resourceType: 'OperationDefinition',
    id: 'CarePlan-render',
    url: 'https://kanplan.org/fhir/OperationDefinition/CarePlan-render',
    name: 'RenderPlan',
    title: 'Printable HTML view of a plan',
    status: 'active',
    kind: 'operation',
    code: 'render',
    description: 'Returns the whole plan as one printable, accessible HTML page (text/html) in plain language.',
    affectsState: false,
    resource: ['CarePlan'],
    system: false,
    type: false,
    instance: true,
    parameter: [{ name: 'return', use: 'out', min: 1, max: '1', type: 'Binary', documentation: 'The page as text/html.' }],
  },
  async handle(ctx, call) {
    const document = await storedPlanDocument(ctx, call.id);
    return { status: 200, raw: { contentType: 'text/html; charset=utf-8', body: renderPlanHtml(document) } };
  },
};
