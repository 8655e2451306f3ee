import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { FhirContext } from '../fhir/context.ts';
import { mcoGroups } from '../fhir/bulk/mco-groups.ts';
import { importExampleDocuments } from '../fhir/operations/import-document.ts';
import { installConformanceResources } from './conformance-install.ts';

/** The example plans (bundles/documents/) on a database that holds no patient yet. */
async function loadDemoData(ctx: FhirContext, logger: Logger): Promise<boolean> {
  if (await ctx.repo.everStored('Patient')) return false;
  const results = await importExampleDocuments(ctx);
  const failed = results.filter((result) => !result.ok);
  logger.info({ documents: results.length - failed.length }, 'demo data loaded from bundles/documents');
  for (const failure of failed) logger.warn({ file: failure.file, reason: failure.reason }, 'demo document not loaded');
  return true;
}

/**
 * What every database holds besides its users' records, written at each start where missing: the
 * Kansas conformance resources, one Group per KanCare MCO, and (LOAD_DEMO_DATA) the example plans
 * on a database that never held a patient. The embedded template (embedded-template.ts) is made by
 * this same step, so a data directory copied from it holds what a first start would have written.
 * Returns whether the demo data was loaded now.
 */
export async function installInitialContent(ctx: FhirContext, config: Config, logger: Logger): Promise<boolean> {
  // The CapabilityStatement names each operation by its OperationDefinition's canonical URL; the
  // kanplan ones ($import-document, $document, $render) are in the Kansas package, so they resolve
  // once the package is stored here
  // (https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.operation.definition).
  const installed = await installConformanceResources(ctx.repo, ctx.conformance.kansas.resources);
  if (installed) logger.info({ resources: installed }, 'Kansas conformance resources installed');
  // One Group per KanCare MCO, whose members are the Patients with that MCO (fhir/bulk/mco-groups.ts).
  const groups = await installConformanceResources(ctx.repo, mcoGroups(ctx.conformance.kansas));
  if (groups) logger.info({ groups }, 'KanCare MCO groups installed');
  return config.loadDemoData && (await loadDemoData(ctx, logger));
}
