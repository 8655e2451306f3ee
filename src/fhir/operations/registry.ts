import { documentOperation } from './document.ts';
import { expandOperation } from './expand.ts';
import { importDocumentOperation } from './import-document.ts';
import { lookupOperation } from './lookup.ts';
import type { FhirOperation } from './operation.ts';
import { renderOperation } from './render.ts';
import { validateCodeOperation } from './validate-code.ts';
import { validateOperation } from './validate.ts';

/**
 * Every operation the server offers. Add one file per operation in this folder and list it
 * here; the router dispatches by the OperationDefinition and the CapabilityStatement lists it.
 */
export const operations: readonly FhirOperation[] = [
  validateOperation,
  expandOperation,
  validateCodeOperation,
  lookupOperation,
  importDocumentOperation,
  documentOperation,
  renderOperation,
];
