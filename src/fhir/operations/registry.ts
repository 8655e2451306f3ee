import type { OperationDefinition } from '@medplum/fhirtypes';
import type { KansasPackage } from '../../conformance/kansas-package.ts';
import { documentOperation } from './document.ts';
import { expandOperation } from './expand.ts';
import { importDocumentOperation } from './import-document.ts';
import { lookupOperation } from './lookup.ts';
import { patientEverythingOperation } from './patient-everything.ts';
import { groupExportOperation, patientExportOperation, systemExportOperation } from '../bulk/export-kickoff.ts';
import type { FhirOperation, PackagedOperationHandler } from './operation.ts';
import { renderOperation } from './render.ts';
import { validateCodeOperation } from './validate-code.ts';
import { validateOperation } from './validate.ts';
import { subscriptionEventsOperation, subscriptionStatusOperation } from '../subscriptions/status-operations.ts';

/**
 * Every operation the server offers. Add one file per operation in this folder and list it
 * here; the router dispatches by the OperationDefinition and the CapabilityStatement lists it.
 * HL7's operations carry their definitions in code; kanplan's own ($import-document, $document,
 * $render) are found by canonical URL in the Kansas package (profiles/input), which also serves them.
 */
export function createOperations(kansas: KansasPackage): readonly FhirOperation[] {
  return [
    validateOperation,
    expandOperation,
    validateCodeOperation,
    lookupOperation,
    subscriptionStatusOperation,
    subscriptionEventsOperation,
    ...[importDocumentOperation, documentOperation, renderOperation, patientEverythingOperation, systemExportOperation, patientExportOperation, groupExportOperation].map((handler) => withPackagedDefinition(kansas, handler)),
  ];
}

function withPackagedDefinition(kansas: KansasPackage, handler: PackagedOperationHandler): FhirOperation {
  const definition = kansas.operationDefinitions.find((d) => d.url === handler.url);
  if (!definition || !hasCode(definition)) {
    throw new Error(`The Kansas package (profiles/input) has no OperationDefinition ${handler.url} with a code.`);
  }
  return { definition, handle: handler.handle, checksOwnAccess: handler.checksOwnAccess };
}

function hasCode(definition: OperationDefinition): definition is OperationDefinition & { code: string } {
  return typeof definition.code === 'string' && definition.code.length > 0;
}
