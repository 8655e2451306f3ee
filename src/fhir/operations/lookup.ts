import { lookupCode } from '../../terminology/operations.ts';
import type { FhirOperation } from './operation.ts';
import { instanceUrl, p, terminologyDefinition } from './terminology-common.ts';

/** CodeSystem/$lookup (https://hl7.org/fhir/R4/codesystem-operation-lookup.html) on local content. */
export const lookupOperation: FhirOperation = {
  definition: terminologyDefinition('CodeSystem-lookup', 'lookup', 'CodeSystem', [
    p('code', 'in', 'code'),
    p('system', 'in', 'uri'),
    p('coding', 'in', 'Coding'),
    p('property', 'in', 'code', '*'),
    p('name', 'out', 'string'),
    p('display', 'out', 'string'),
    p('designation', 'out', 'BackboneElement', '*'),
    p('property', 'out', 'BackboneElement', '*'),
  ]),
  async handle(ctx, call) {
    const result = lookupCode(ctx.conformance.terminology, call.parameters, await instanceUrl(ctx, call));
    return { status: result.status, resource: result.resource };
  },
};
