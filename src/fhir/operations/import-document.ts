import type { Parameters } from '@medplum/fhirtypes';
import { importPlanDocument, type ImportResult } from '../../documents/import-flow.ts';
import { listExampleDocuments } from '../../documents/example-documents.ts';
import type { FhirContext } from '../context.ts';
import { FhirError, badRequest, outcomeOf } from '../../outcomes.ts';
import type { FhirOperation } from './operation.ts';
import { planStoreOf } from './plan-store.ts';

/**
 * `POST [base]/CarePlan/$import-document`: the body is a PCSP, BSP or ISP document (JSON or YAML,
 * schemas in docs/documents/), not a Parameters resource. It is validated, mapped to one
 * transaction of Kansas-profiled resources and written atomically; a re-import of the same
 * planId updates the same resources. Answer: Parameters with the transaction-response Bundle,
 * the CarePlan reference and created/updated/unchanged counts.
 */
type SuccessfulImport = Extract<ImportResult, { ok: true }>;

/**
 * The lookup of the previous version, the comparison and the transaction share one SQL
 * transaction (the bundle's transaction joins it). A failure must therefore be thrown inside it:
 * returning normally would commit whatever the bundle wrote before the failing entry.
 */
async function importInOneTransaction(ctx: FhirContext, body: unknown, contentType: string | undefined): Promise<SuccessfulImport> {
  return ctx.repo.transaction(async (repo) => {
    const result = await importPlanDocument(body, contentType, planStoreOf({ ...ctx, repo }), { maxReviewIntervalMonths: ctx.config.planReviewIntervalMonths });
    if (!result.ok) {
      throw new FhirError(result.status, result.outcome.issue ?? []);
    }
    return result;
  });
}

export const importDocumentOperation: FhirOperation = {
  definition: {
    resourceType: 'OperationDefinition',
    id: 'CarePlan-import-document',
    url: 'https://kanplan.org/fhir/OperationDefinition/CarePlan-import-document',
    name: 'ImportDocument',
    title: 'Import a Kansas PCSP, BSP or ISP document',
    status: 'active',
    kind: 'operation',
    code: 'import-document',
    description:
      'The request body is the document itself (application/json or application/yaml), validated against its JSON Schema (docs/documents/). Schema errors: 400 with one issue per error, located by JSON pointer. Profile errors: the issues located in the document. Nothing is written unless the whole document imports.',
    affectsState: true,
    resource: ['CarePlan'],
    system: false,
    type: true,
    instance: false,
    parameter: [
      { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'The transaction-response Bundle (empty when nothing changed).' },
      { name: 'carePlan', use: 'out', min: 1, max: '1', type: 'Reference', documentation: 'The CarePlan the document became.' },
      { name: 'planId', use: 'out', min: 1, max: '1', type: 'string' },
      { name: 'documentType', use: 'out', min: 1, max: '1', type: 'code' },
      { name: 'created', use: 'out', min: 1, max: '1', type: 'integer' },
      { name: 'updated', use: 'out', min: 1, max: '1', type: 'integer' },
      { name: 'unchanged', use: 'out', min: 1, max: '1', type: 'integer' },
    ],
  },
  async handle(ctx, call) {
    const { body, contentType } = call.request;
    if (body === undefined || (typeof body === 'object' && (body as { resourceType?: string }).resourceType === 'Parameters')) {
      throw badRequest('Send the PCSP, BSP or ISP document itself as the body (Content-Type application/json or application/yaml); see docs/documents/.');
    }
    const result = await importInOneTransaction(ctx, body, contentType);
    const parameters: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'return', resource: result.response },
        { name: 'carePlan', valueReference: { reference: result.carePlan } },
        { name: 'planId', valueString: result.planId },
        { name: 'documentType', valueCode: result.documentType },
        { name: 'created', valueInteger: result.summary.created },
        { name: 'updated', valueInteger: result.summary.updated },
        { name: 'unchanged', valueInteger: result.summary.unchanged },
      ],
    };
    return { status: planIsNew(result) ? 201 : 200, resource: parameters };
  },
};

/**
 * 201 when the document's CarePlan was created by this import, 200 when it already existed. Not
 * "every resource is new": a new plan of a person who already has one leaves the Patient as it is.
 */
function planIsNew(result: SuccessfulImport): boolean {
  return (result.response.entry ?? []).some((e) => e.response?.status?.startsWith('201') === true && (e.response.location ?? '').includes(`/${result.carePlan}/_history/`));
}

export interface ExampleImport {
  readonly file: string;
  readonly planId: string;
  readonly ok: boolean;
  /** Diagnostics of a failed import. */
  readonly reason?: string;
}

/**
 * Imports the fictional example documents (bundles/documents/, PCSPs first, then updates) the way
 * `$import-document` does; `npm start` calls this on an empty database to load demo data.
 */
export async function importExampleDocuments(ctx: FhirContext): Promise<ExampleImport[]> {
  const results: ExampleImport[] = [];
  for (const { file, document } of listExampleDocuments()) {
    try {
      await importInOneTransaction(ctx, document, 'application/json');
      results.push({ file, planId: document.planId, ok: true });
    } catch (err) {
      const reason = (outcomeOf(err).issue ?? []).map((i) => i.diagnostics).join(' | ');
      results.push({ file, planId: document.planId, ok: false, reason });
    }
  }
  return results;
}
