import type { AccessContext } from '../../auth/access.ts';
import { outcomeOf, statusOf } from '../../outcomes.ts';
import type { FhirContext } from '../context.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { dispatch } from '../router.ts';
import { auditEventOf, interactionOf, type AuditedResult } from './audit-event.ts';

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
    await record(ctx, request, access, result);
    return response;
  } catch (err) {
    result = { status: statusOf(err), diagnostics: diagnosticsOf(err) };
    await record(ctx, request, access, result).catch((auditErr: unknown) => ctx.logger.error({ err: auditErr }, 'audit event of a failed request not stored'));
    throw err;
  }
}

async function record(ctx: FhirContext, request: FhirRequest, access: AccessContext | undefined, result: AuditedResult): Promise<void> {
  const interaction = interactionOf(request);
  if (!ctx.audit || !interaction) return;
  const durable = request.method !== 'GET' && request.method !== 'HEAD';
  await ctx.audit.record(auditEventOf(request, interaction, access, result, ctx.config.baseUrl), durable);
}
