import type { OperationOutcome, OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { checkRepresentation } from './json-representation.ts';
import type { ResourceValidator } from './validator.ts';

/**
 * `$validate` (https://hl7.org/fhir/R4/resource-operation-validate.html) as a pure function:
 * type level `POST [base]/[type]/$validate` and instance level `POST [base]/[type]/[id]/$validate`.
 * The operation always answers 200 with an OperationOutcome when it could run; the outcome's
 * issues say whether the resource is valid. 400 is for a request that could not be evaluated.
 */

export type ValidateMode = 'create' | 'update' | 'delete' | 'profile';

export interface ValidateOperationInput {
  /** Resource type of the URL ([type]/$validate). */
  readonly resourceType?: string;
  /** Instance id of the URL ([type]/[id]/$validate), if any. */
  readonly id?: string;
  /** The request body: a Parameters resource (resource, mode, profile) or the resource itself. */
  readonly body?: unknown;
  /** Query parameters (mode, profile may also be given there). */
  readonly query?: readonly (readonly [string, string])[];
  /** For instance level with mode=delete or without a resource: the stored resource, if found. */
  readonly existing?: Resource;
}

export interface OperationResult<T extends Resource> {
  readonly status: number;
  readonly resource: T | OperationOutcome;
}

const MODES: readonly ValidateMode[] = ['create', 'update', 'delete', 'profile'];

function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

function invalid(text: string, expression?: string): OperationResult<OperationOutcome> {
  return {
    status: 400,
    resource: outcome([{ severity: 'error', code: 'invalid', details: { text }, ...(expression ? { expression: [expression] } : {}) }]),
  };
}

function isResource(value: unknown): value is Resource {
  return typeof value === 'object' && value !== null && typeof (value as { resourceType?: unknown }).resourceType === 'string';
}

function paramValue(parameters: Parameters, name: string): { resource?: Resource; value?: string } | undefined {
  const p = parameters.parameter?.find((x) => x.name === name);
  if (!p) {
    return undefined;
  }
  if (p.resource) {
    return { resource: p.resource };
  }
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  const value = key ? (p as unknown as Record<string, unknown>)[key] : undefined;
  return { value: typeof value === 'string' ? value : undefined };
}

export function runValidateOperation(validator: ResourceValidator, input: ValidateOperationInput): OperationResult<OperationOutcome> {
  let resource: Resource | undefined;
  let mode: string | undefined = input.query?.find(([k]) => k === 'mode')?.[1];
  let profile: string | undefined = input.query?.find(([k]) => k === 'profile')?.[1];

  if (isResource(input.body) && input.body.resourceType === 'Parameters') {
    // The Parameters wrapper is read here, so its JSON shape is checked before (json-representation.ts).
    const shape = checkRepresentation(input.body);
    if (shape.blocking) {
      return { status: 400, resource: outcome(shape.issues) };
    }
    const parameters = input.body as Parameters;
    resource = paramValue(parameters, 'resource')?.resource;
    mode = paramValue(parameters, 'mode')?.value ?? mode;
    profile = paramValue(parameters, 'profile')?.value ?? profile;
  } else if (isResource(input.body)) {
    resource = input.body;
  } else if (input.body !== undefined) {
    return invalid('The body of $validate must be a resource or a Parameters resource with a "resource" parameter');
  }

  if (mode !== undefined && !MODES.includes(mode as ValidateMode)) {
    return invalid(`Unknown $validate mode "${mode}"; expected one of ${MODES.join(', ')}`, 'Parameters.parameter.where(name = \'mode\')');
  }

  if (mode === 'delete') {
    // Nothing in this server's profiles forbids deleting a resource; an instance must exist.
    if (input.id && !input.existing) {
      return { status: 404, resource: outcome([{ severity: 'error', code: 'not-found', details: { text: `${input.resourceType}/${input.id} does not exist` } }]) };
    }
    return { status: 200, resource: outcome([{ severity: 'information', code: 'informational', details: { text: 'Delete would be allowed' } }]) };
  }

  resource ??= input.existing;
  if (!resource) {
    return invalid('No resource to validate: send it as the body or as the "resource" parameter');
  }
  if (input.resourceType && resource.resourceType !== input.resourceType) {
    return invalid(`The resource is a ${resource.resourceType}, but $validate was invoked on ${input.resourceType}`, 'resourceType');
  }
  if (mode === 'update' && input.id && resource.id !== undefined && resource.id !== input.id) {
    return invalid(`Resource id "${resource.id}" does not match the URL id "${input.id}"`, `${resource.resourceType}.id`);
  }
  if (mode === 'profile' && !profile) {
    return invalid('mode=profile needs a "profile" parameter');
  }

  const issues = validator.validate(resource, profile ? { onlyProfiles: [profile] } : undefined);
  if (issues.length === 0) {
    return { status: 200, resource: outcome([{ severity: 'information', code: 'informational', details: { text: 'Validation successful: no issues' } }]) };
  }
  return { status: 200, resource: outcome(issues) };
}
