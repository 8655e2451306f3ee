import type { Parameters } from '@medplum/fhirtypes';
import { KANSAS_CANONICAL_BASE } from '../../conformance/kansas-package.ts';
import { importPlanDocument, type ImportResult } from '../../documents/import-flow.ts';
import { listExampleDocuments } from '../../documents/example-documents.ts';
import type { FhirContext } from '../context.ts';
import { FhirError, badRequest, outcomeOf } from '../../outcomes.ts';
import type { PackagedOperationHandler } from './operation.ts';
import { planStoreOf } from './plan-store.ts';
import { DocumentProvenance } from '../writes/provenance.ts';

/**
 * `POST [base]/CarePlan/$import-document`: the body is a PCSP, BSP or ISP document (JSON or YAML,
 * schemas in docs/documents/), not a Parameters resource. It is validated, mapped to one
 * transaction of Kansas-profiled resources and written atomically; a re-import of the same
 * planId updates the same resources. Answer: Parameters with the transaction-response Bundle,
 * the CarePlan reference and created/updated/unchanged counts. Definition:
 * profiles/input/OperationDefinition-CarePlan-import-document.json.
 */
type SuccessfulImport = Extract<ImportResult, { ok: true }>;

/**
 * The lookup of the previous version, the comparison and the transaction share one SQL
 * transaction (the bundle's transaction joins it). A failure must therefore be thrown inside it:
 * returning normally would commit whatever the bundle wrote before the failing entry.
 */
async function importInOneTransaction(ctx: FhirContext, body: unknown, contentType: string | undefined): Promise<SuccessfulImport> {
  return ctx.repo.transaction(async (repo) => {
    // One Provenance for the whole import: the document's, completed by the write path.
    const result = await importPlanDocument(body, contentType, planStoreOf({ ...ctx, repo, documentProvenance: new DocumentProvenance() }), { maxReviewIntervalMonths: ctx.config.planReviewIntervalMonths });
    if (!result.ok) {
      throw new FhirError(result.status, result.outcome.issue ?? []);
    }
    return result;
  });
}

export const importDocumentOperation: PackagedOperationHandler = {
  url: `${KANSAS_CANONICAL_BASE}/OperationDefinition/CarePlan-import-document`,
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
