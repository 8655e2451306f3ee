import type { OperationDefinition, Parameters } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';

/** One invocation of `$code` at system, type or instance level (https://hl7.org/fhir/R4/operations.html). */
export interface OperationCall {
  readonly request: FhirRequest;
  readonly resourceType?: string;
  readonly id?: string;
  /**
   * The input parameters: the request body when it is a Parameters resource, otherwise built
   * from the query string (GET) with each value as valueString.
   */
  readonly parameters: Parameters;
}

/**
 * A FHIR operation. Its OperationDefinition says where it may be invoked (system/type/instance,
 * resource types) and is listed in the CapabilityStatement.
 */
export interface FhirOperation {
  readonly definition: OperationDefinition & { code: string };
  /**
   * The operation decides the caller's access per resource type itself (a system-level Bulk Data
   * export of the types a system/ token reads), instead of the router asking for access to every type.
   */
  readonly checksOwnAccess?: boolean;
  handle(ctx: FhirContext, call: OperationCall): Promise<FhirResponse>;
}

/**
 * The code of an operation whose OperationDefinition is data in the Kansas package
 * (`profiles/input/OperationDefinition-*.json`), served and listed like every other conformance
 * resource; the registry pairs it with that definition by canonical URL (registry.ts).
 */
export interface PackagedOperationHandler {
  /** Canonical URL of the OperationDefinition in the package. */
  readonly url: string;
  readonly checksOwnAccess?: boolean;
  handle(ctx: FhirContext, call: OperationCall): Promise<FhirResponse>;
}

export function parameterValue(parameters: Parameters, name: string): unknown {
  const parameter = parameters.parameter?.find((p) => p.name === name);
  if (!parameter) {
    return undefined;
  }
  if (parameter.resource) {
    return parameter.resource;
  }
  const key = Object.keys(parameter).find((k) => k.startsWith('value'));
  return key ? (parameter as unknown as Record<string, unknown>)[key] : undefined;
}
