import type { Parameters } from '@medplum/fhirtypes';
import { smartConfiguration } from '../auth/smart-configuration.ts';
import type { Permission } from '../auth/scopes.ts';
import { isKnownResourceType } from '../conformance/base-definitions.ts';
import { assertInstanceAccess, requireAccess } from './access/caller-access.ts';
import { handleExportFile, handleExportStatus } from './bulk/export-status.ts';
import type { FhirContext } from './context.ts';
import { handleCapabilities } from './interactions/capabilities.ts';
import { handleCreate } from './interactions/create.ts';
import { handleConditionalDelete, handleDelete } from './interactions/delete.ts';
import { handleHistory } from './interactions/history.ts';
import { handleConditionalPatch, handlePatch } from './interactions/patch.ts';
import { readResource, vreadResource } from './interactions/read.ts';
import { handleSearch } from './interactions/search.ts';
import { processBundle } from './interactions/transaction.ts';
import { handleConditionalUpdate, handleUpdate } from './interactions/update.ts';
import type { OperationCall } from './operations/operation.ts';
import { MethodNotAllowedError, notFound } from '../outcomes.ts';
import type { FhirRequest, FhirResponse } from './request.ts';
import { withStoreOutcome } from './store-outcomes.ts';

function criteriaOf(request: FhirRequest): string {
  return new URLSearchParams(request.query.filter(([name]) => name !== '_format' && name !== '_pretty').map(([n, v]) => [n, v])).toString();
}

function assertResourceType(resourceType: string): void {
  if (!isKnownResourceType(resourceType)) {
    throw notFound(`Unknown resource type ${JSON.stringify(resourceType)}: this is a FHIR R4 server; resource types are case-sensitive, e.g. CarePlan.`);
  }
}

/**
 * SMART scope check of the type: every interaction, including each entry of a batch or
 * transaction (403 naming a scope). What a confined grant reaches within the type is enforced by
 * the interaction: search narrows, reads check the instance, writes go through the access rule.
 */
async function allow(ctx: FhirContext, resourceType: string, permission: Permission): Promise<void> {
  await requireAccess(ctx, resourceType, permission);
}

/** Types a system-level search or history touches: those in _type, or all ('*'). */
function systemTypes(request: FhirRequest): string[] {
  const types = request.query.filter(([name]) => name === '_type').flatMap(([, value]) => value.split(','));
  return types.length ? types : ['*'];
}

const READ_ONLY = ['GET', 'HEAD'] as const;

/** 405 naming what to use instead; `allow` is what the path itself accepts (the Allow header). */
function notAllowed(request: FhirRequest, allow: readonly string[], hint = allow.join(' or ')): never {
  throw new MethodNotAllowedError(`${request.method} is not supported on /${request.path}; use ${hint}.`, allow);
}

function operationParameters(request: FhirRequest): Parameters {
  const body = request.body as Parameters | undefined;
  if (request.method === 'POST' && body?.resourceType === 'Parameters') {
    return body;
  }
  return {
    resourceType: 'Parameters',
    parameter: request.query
      .filter(([name]) => name !== '_format' && name !== '_pretty')
      .map(([name, value]) => ({ name, valueString: value })),
  };
}

/** $op at system, type or instance level: https://hl7.org/fhir/R4/operations.html#executing */
async function invokeOperation(
  ctx: FhirContext,
  request: FhirRequest,
  name: string,
  resourceType?: string,
  id?: string,
): Promise<FhirResponse> {
  const code = name.slice(1);
  const level = id !== undefined ? 'instance' : resourceType !== undefined ? 'type' : 'system';
  const operation = ctx.operations.find(
    (op) =>
      op.definition.code === code &&
      op.definition[level] === true &&
      (level === 'system' || !op.definition.resource?.length || op.definition.resource.includes(resourceType as never)),
  );
  if (!operation) {
    throw notFound(
      `Operation ${name} is not defined ${level === 'system' ? 'at system level' : `for ${resourceType}${level === 'instance' ? ' instances' : ''}`}; GET /metadata lists the operations.`,
    );
  }
  if (request.method !== 'POST' && !(request.method === 'GET' && operation.definition.affectsState !== true)) {
    notAllowed(request, operation.definition.affectsState ? ['POST'] : [...READ_ONLY, 'POST']);
  }
  const permission = operation.definition.affectsState ? 'u' : 'r';
  if (id !== undefined && resourceType !== undefined) {
    // An instance operation ($document, $render, $validate …) works on that resource: it must be
    // one the caller reaches (404 otherwise, as a read). What it writes goes through the write path.
    await assertInstanceAccess(ctx, resourceType, id, permission);
  } else if (!operation.checksOwnAccess) {
    await allow(ctx, resourceType ?? '*', permission);
  }
  const call: OperationCall = { request, resourceType, id, parameters: operationParameters(request) };
  return operation.handle(ctx, call);
}

/** SMART discovery (https://hl7.org/fhir/smart-app-launch/STU2/conformance.html): JSON, not a FHIR resource. */
function smartConfigurationResponse(ctx: FhirContext): FhirResponse {
  const configuration = smartConfiguration(ctx.config.auth, ctx.config.baseUrl);
  if (!configuration) {
    throw notFound(
      'No OAuth 2.0 authorization server is configured, so there is no SMART configuration: tokens come from `kanplan token` (local key). Set AUTH_TOKEN_URL (and AUTH_AUTHORIZE_URL for user launch) to the authorization server that issues them.',
    );
  }
  return { status: 200, raw: { contentType: 'application/json; charset=utf-8', body: JSON.stringify(configuration) } };
}

/**
 * Maps a FHIR REST request to its interaction (https://hl7.org/fhir/R4/http.html). The same
 * entry point serves HTTP requests and the entries of batches and transactions. The store's own
 * errors become OperationOutcomes here.
 */
export async function dispatch(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  try {
    return await route(ctx, request);
  } catch (err) {
    throw withStoreOutcome(err);
  }
}

async function route(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const segments = request.path === '' ? [] : request.path.split('/');
  const [first, second, third, fourth] = segments;
  const method = request.method === 'HEAD' ? 'GET' : request.method;

  if (segments.length === 0) {
    if (method === 'POST') return processBundle(ctx, request, dispatch);
    if (method === 'GET') {
      for (const type of systemTypes(request)) await allow(ctx, type, 's');
      return handleSearch(ctx, request, []);
    }
    return notAllowed(request, [...READ_ONLY, 'POST'], 'GET (system search) or POST (batch/transaction)');
  }
  if (first === '.well-known' && second === 'smart-configuration' && segments.length === 2) {
    return method === 'GET' ? smartConfigurationResponse(ctx) : notAllowed(request, ['GET']);
  }
  if (first === 'metadata' && segments.length === 1) {
    return method === 'GET' ? handleCapabilities(ctx, request) : notAllowed(request, READ_ONLY);
  }
  if (first === '_history' && segments.length === 1) {
    if (method !== 'GET') return notAllowed(request, READ_ONLY);
    await allow(ctx, '*', 's');
    return handleHistory(ctx, request);
  }
  if (first === '_search' && segments.length === 1) {
    if (method !== 'POST') return notAllowed(request, ['POST']);
    for (const type of systemTypes(request)) await allow(ctx, type, 's');
    return handleSearch(ctx, request, []);
  }
  if (first.startsWith('$') && segments.length === 1) {
    return invokeOperation(ctx, request, first);
  }
  if (first === '_export' && (segments.length === 2 || segments.length === 3)) {
    // Bulk Data status and files: the job's requester only (checked there), not a resource type.
    if (segments.length === 2) return method === 'GET' || method === 'DELETE' ? handleExportStatus(ctx, request, second) : notAllowed(request, ['GET', 'DELETE']);
    return method === 'GET' ? handleExportFile(ctx, second, third) : notAllowed(request, ['GET']);
  }

  const resourceType = first;
  assertResourceType(resourceType);
  if (segments.length === 1) {
    const hasCriteria = criteriaOf(request) !== '';
    await allow(ctx, resourceType, ({ GET: 's', POST: 'c', PUT: 'u', PATCH: 'u', DELETE: 'd' } as const)[method]);
    if (method === 'PUT' && hasCriteria) await allow(ctx, resourceType, 'c');
    switch (method) {
      case 'GET':
        return handleSearch(ctx, request, [resourceType]);
      case 'POST':
        return handleCreate(ctx, request, resourceType);
      case 'PUT':
        return hasCriteria ? handleConditionalUpdate(ctx, request, resourceType, criteriaOf(request)) : notAllowed(request, [...READ_ONLY, 'POST'], `PUT /${resourceType}/[id] or PUT /${resourceType}?criteria`);
      case 'PATCH':
        return hasCriteria ? handleConditionalPatch(ctx, request, resourceType, criteriaOf(request)) : notAllowed(request, [...READ_ONLY, 'POST'], `PATCH /${resourceType}/[id] or PATCH /${resourceType}?criteria`);
      case 'DELETE':
        return hasCriteria ? handleConditionalDelete(ctx, resourceType, criteriaOf(request)) : notAllowed(request, [...READ_ONLY, 'POST'], `DELETE /${resourceType}/[id] or DELETE /${resourceType}?criteria`);
    }
  }
  if (second === '_search' && segments.length === 2) {
    await allow(ctx, resourceType, 's');
    return method === 'POST' ? handleSearch(ctx, request, [resourceType]) : notAllowed(request, ['POST'], `GET /${resourceType}?params or POST /${resourceType}/_search`);
  }
  if (second === '_history' && segments.length === 2) {
    await allow(ctx, resourceType, 's');
    return method === 'GET' ? handleHistory(ctx, request, resourceType) : notAllowed(request, READ_ONLY);
  }
  if (second.startsWith('$') && segments.length === 2) {
    return invokeOperation(ctx, request, second, resourceType);
  }
  const id = second;
  if (segments.length === 2) {
    // A PUT to a new id creates the resource (update-as-create); the u permission covers it.
    if (method === 'GET') {
      await assertInstanceAccess(ctx, resourceType, id, 'r');
    } else {
      await allow(ctx, resourceType, ({ GET: 'r', POST: 'c', PUT: 'u', PATCH: 'u', DELETE: 'd' } as const)[method]);
    }
    switch (method) {
      case 'GET':
        return readResource(ctx, request, resourceType, id);
      case 'PUT':
        return handleUpdate(ctx, request, resourceType, id);
      case 'PATCH':
        return handlePatch(ctx, request, resourceType, id);
      case 'DELETE':
        return handleDelete(ctx, request, resourceType, id);
      default:
        return notAllowed(request, [...READ_ONLY, 'PUT', 'PATCH', 'DELETE'], `GET, PUT, PATCH or DELETE on /${resourceType}/${id} (POST /${resourceType} creates)`);
    }
  }
  if (third === '_history' && segments.length <= 4) {
    if (method !== 'GET') return notAllowed(request, READ_ONLY);
    await assertInstanceAccess(ctx, resourceType, id, 'r');
    return fourth === undefined ? handleHistory(ctx, request, resourceType, id) : vreadResource(ctx, resourceType, id, fourth);
  }
  if (third?.startsWith('$') && segments.length === 3) {
    return invokeOperation(ctx, request, third, resourceType, id);
  }
  if (segments.length === 3 && method === 'GET') {
    // Compartment search, e.g. Patient/123/CarePlan (https://hl7.org/fhir/R4/compartmentdefinition.html).
    if (third !== '*') assertResourceType(third);
    await allow(ctx, third, 's');
    return handleSearch(ctx, request, third === '*' ? [] : [third], { resourceType, id });
  }
  throw notFound(`No FHIR interaction is defined for ${request.method} /${request.path}.`);
}
