import { validateCode } from '../../terminology/operations.ts';
import type { FhirOperation } from './operation.ts';
import { instanceUrl, p, terminologyDefinition } from './terminology-common.ts';

/** ValueSet/$validate-code (https://hl7.org/fhir/R4/valueset-operation-validate-code.html) on local content. */
export const validateCodeOperation: FhirOperation = {
  definition: terminologyDefinition('ValueSet-validate-code', 'validate-code', 'ValueSet', [
    p('url', 'in', 'uri'),
    p('code', 'in', 'code'),
    p('system', 'in', 'uri'),
    p('display', 'in', 'string'),
    p('coding', 'in', 'Coding'),
    p('codeableConcept', 'in', 'CodeableConcept'),
    p('result', 'out', 'boolean'),
    p('message', 'out', 'string'),
    p('display', 'out', 'string'),
  ]),
  async handle(ctx, call) {
    const result = validateCode(ctx.conformance.terminology, call.parameters, await instanceUrl(ctx, call));
    return { status: result.status, resource: result.resource };
  },
};
