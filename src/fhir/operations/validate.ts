import type { OperationDefinition } from '@medplum/fhirtypes';
import { listResourceTypes } from '../../conformance/base-definitions.ts';
import { runValidateOperation } from '../../validation/validate-operation.ts';
import type { FhirOperation } from './operation.ts';
import { notFound } from '../../outcomes.ts';

/**
 * `$validate` at type and instance level (https://hl7.org/fhir/R4/resource-operation-validate.html):
 * the same validation a write gets (base R4 + known profiles + Kansas checks), without storing.
 * The logic is the pure `runValidateOperation` (src/validation/validate-operation.ts).
 */
export const validateOperation: FhirOperation = {
  definition: {
    resourceType: 'OperationDefinition',
    id: 'Resource-validate',
    url: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    name: 'Validate',
    status: 'active',
    kind: 'operation',
    code: 'validate',
    affectsState: false,
    // Every resource type (the router and the CapabilityStatement match on this list); computed
    // on first use because the R4 definitions load lazily.
    get resource() {
      return listResourceTypes() as OperationDefinition['resource'];
    },
    system: false,
    type: true,
    instance: true,
    parameter: [
      { name: 'resource', use: 'in', min: 0, max: '1', type: 'Resource' },
      { name: 'mode', use: 'in', min: 0, max: '1', type: 'code' },
      { name: 'profile', use: 'in', min: 0, max: '1', type: 'uri' },
      { name: 'return', use: 'out', min: 1, max: '1', type: 'OperationOutcome' },
    ],
  } satisfies OperationDefinition & { code: string },
  async handle(ctx, call) {
    let existing;
    if (call.id !== undefined && call.resourceType !== undefined) {
      existing = (await ctx.repo.readCurrent(call.resourceType, call.id))?.resource;
      const mode = call.request.query.find(([k]) => k === 'mode')?.[1];
      if (!existing && call.request.body === undefined && mode !== 'delete') {
        throw notFound(`${call.resourceType}/${call.id} does not exist`);
      }
    }
    const result = runValidateOperation(ctx.validator, {
      resourceType: call.resourceType,
      id: call.id,
      body: call.request.method === 'POST' ? call.request.body : undefined,
      query: call.request.query,
      existing,
    });
    return { status: result.status, resource: result.resource };
  },
};
