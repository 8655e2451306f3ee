import type { AccessContext } from '../../auth/access.ts';
import { outcomeOf, statusOf } from '../../outcomes.ts';
import type { FhirContext } from '../context.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { dispatch } from '../router.ts';
import { auditEventOf, interactionOf, type AuditedInteraction, type AuditedResult } from './audit-event.ts';

function diagnosticsOf(err: unknown): string | undefined {
  return (outcomeOf(err).issue ?? []).map((issue) => issue.diagnostics).filter(Boolean).join(' | ') || undefined;
}

/**
 * A FHIR request from the HTTP edge: the caller is authenticated, the request dispatched, and an
 * AuditEvent recorded for it (audit-event.ts) — for a refused token (401), a forbidden or missing
 * resource (403/404) and every other failure as for a success. A read's event is stored with the
 * next flush; a write's (any method but GET/HEAD) before the response is sent. Batch and
 * transaction entries are part of their Bundle's event, not events of their own.
 */
export async function handleFhirRequest(ctx: FhirContext, request: FhirRequest, authenticate: () => Promise<AccessContext>): Promise<FhirResponse> {
  const interaction = ctx.audit && interactionOf(request);
  if (!ctx.audit || !interaction) {
    return dispatch({ ...ctx, access: await authenticate() }, request);
  }
  let access: AccessContext | undefined;
  let result: AuditedResult;
  try {
    access = await authenticate();
    const response = await dispatch({ ...ctx, access }, request);
    result = { status: response.status, response };
    await record(ctx, request, interaction, access, result);
    return response;
  } catch (err) {
    result = { status: statusOf(err), diagnostics: diagnosticsOf(err) };
    await record(ctx, request, interaction, access, result).catch((auditErr: unknown) => ctx.logger.error({ err: auditErr }, 'audit event of a failed request not stored'));
    throw err;
  }
}

/** What the HTTP edge knows of a request it refused before it became a FhirRequest. */
export interface RefusedRequest {
  /** The HTTP method as sent, which may be none of FHIR's (405). */
  readonly method: string;
  /** Path relative to the FHIR base, decoded when it could be. */
  readonly path: string;
  readonly query: readonly (readonly [string, string])[];
}

const FHIR_METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The AuditEvent of a request the HTTP edge refused before handing it over — a method that is no
 * FHIR interaction (405), an Accept it cannot answer (406), a body too large (413), of a media
 * type it does not read (415) or that is not JSON (400), a malformed path (400) — so that every
 * access, refused or not, leaves its record (issue 16, Traceability). The caller is named when its
 * token verifies (a cached token costs ~1 µs); when it does not, the event says so. Never throws:
 * the refusal is answered whether or not its event could be stored.
 */
export async function recordRefusedRequest(ctx: FhirContext, refused: RefusedRequest, err: unknown, authenticate: () => Promise<AccessContext>): Promise<void> {
  if (!ctx.audit) return;
  const method = FHIR_METHODS.has(refused.method) ? (refused.method as FhirRequest['method']) : undefined;
  const request: FhirRequest = { method: method ?? 'POST', path: refused.path, query: refused.query, headers: {} };
  // A method FHIR does not know is no interaction: recorded as an execute of what the path names.
  const shape = interactionOf(method ? request : { ...request, method: 'GET' });
  if (!shape) return;
  const interaction: AuditedInteraction = method ? shape : { action: 'E', resourceType: shape.resourceType, id: shape.id };
  const access = await authenticate().catch(() => undefined);
  const result = { status: statusOf(err), diagnostics: diagnosticsOf(err) };
  const durable = method !== 'GET' && method !== 'HEAD';
  try {
    await ctx.audit.record(auditEventOf(request, interaction, access, result, ctx.config.baseUrl), durable);
  } catch (auditErr) {
    ctx.logger.error({ err: auditErr }, 'audit event of a refused request not stored');
  }
}

async function record(ctx: FhirContext, request: FhirRequest, interaction: AuditedInteraction, access: AccessContext | undefined, result: AuditedResult): Promise<void> {
  if (!ctx.audit) return;
  const durable = request.method !== 'GET' && request.method !== 'HEAD';
  const baseUrl = ctx.config.baseUrl;
  if (!durable && access && ctx.audit.recordRead({ request, interaction, access, result, baseUrl })) return;
  await ctx.audit.record(auditEventOf(request, interaction, access, result, baseUrl), durable);
}
