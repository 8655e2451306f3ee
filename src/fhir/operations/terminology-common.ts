import type { OperationDefinition, OperationDefinitionParameter } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { notFound } from '../../outcomes.ts';
import type { OperationCall } from './operation.ts';

/**
 * Terminology operations over the server's local content (R4, US Core 6.1.0 and Kansas
 * CodeSystems/ValueSets): ValueSet/$expand, ValueSet/$validate-code, CodeSystem/$lookup. The
 * logic is pure (src/terminology/operations.ts); here only the instance's canonical URL is read.
 */

export function terminologyDefinition(
  id: string,
  code: string,
  resource: 'ValueSet' | 'CodeSystem',
  parameter: OperationDefinitionParameter[],
): OperationDefinition & { code: string } {
  return {
    resourceType: 'OperationDefinition',
    id,
    url: `http://hl7.org/fhir/OperationDefinition/${id}`,
    name: id.replace(/-/g, ''),
    status: 'active',
    kind: 'operation',
    code,
    affectsState: false,
    resource: [resource],
    system: false,
    type: true,
    instance: true,
    parameter,
  };
}

export const p = (name: string, use: 'in' | 'out', type: string, max = '1'): OperationDefinitionParameter => ({ name, use, min: 0, max, type });

/** The canonical URL of the ValueSet/CodeSystem instance the operation was invoked on. */
export async function instanceUrl(ctx: FhirContext, call: OperationCall): Promise<string | undefined> {
  if (call.id === undefined || call.resourceType === undefined) {
    return undefined;
  }
  const stored = (await ctx.repo.readCurrent(call.resourceType, call.id))?.resource as { url?: string } | undefined;
  if (!stored?.url) {
    throw notFound(`${call.resourceType}/${call.id} does not exist`);
  }
  return stored.url;
}

