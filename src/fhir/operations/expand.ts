import { expandValueSet } from '../../terminology/operations.ts';
import type { FhirOperation } from './operation.ts';
import { instanceUrl, p, terminologyDefinition } from './terminology-common.ts';

/** ValueSet/$expand (https://hl7.org/fhir/R4/valueset-operation-expand.html) on local content, with filter/offset/count. */
export const expandOperation: FhirOperation = {
  definition: terminologyDefinition('ValueSet-expand', 'expand', 'ValueSet', [
    p('url', 'in', 'uri'),
    p('filter', 'in', 'string'),
    p('offset', 'in', 'integer'),
    p('count', 'in', 'integer'),
    p('return', 'out', 'ValueSet'),
  ]),
  async handle(ctx, call) {
    const result = expandValueSet(ctx.conformance.terminology, call.parameters, await instanceUrl(ctx, call));
    return { status: result.status, resource: result.resource };
  },
};
