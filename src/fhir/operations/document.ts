import type { FhirOperation } from './operation.ts';
import { storedPlanDocument } from './plan-document.ts';

/**
 * `GET [base]/CarePlan/{id}/$document`: the PCSP, BSP or ISP document the plan was imported from,
 * rebuilt from the stored resources (deep-equal to the imported document when nothing else
 * changed them). The answer is the JSON document, not a FHIR resource.
 */
export const documentOperation: FhirOperation = {
  definition: {
    resourceType: 'OperationDefinition',
    id: 'CarePlan-document',
    url: 'https://kanplan.org/fhir/OperationDefinition/CarePlan-document',
    name: 'PlanDocument',
    title: 'The PCSP, BSP or ISP document of a CarePlan',
    status: 'active',
    kind: 'operation',
    code: 'document',
    description: 'Returns the plan as its Kansas document (application/json; schemas in docs/documents/).',
    affectsState: false,
    resource: ['CarePlan'],
    system: false,
    type: false,
    instance: true,
    parameter: [{ name: 'return', use: 'out', min: 1, max: '1', type: 'Binary', documentation: 'The document as application/json.' }],
  },
  async handle(ctx, call) {
    const document = await storedPlanDocument(ctx, call.id);
    return { status: 200, raw: { contentType: 'application/json', body: `${JSON.stringify(document, null, 2)}\n` } };
  },
};
