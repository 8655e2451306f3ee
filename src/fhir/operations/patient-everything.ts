import type { Bundle, BundleEntry, BundleLink, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { decideAccess } from '../../auth/access-policy.ts';
import { KANSAS_CANONICAL_BASE } from '../../conformance/kansas-package.ts';
import { badRequest } from '../../outcomes.ts';
import { EVERYTHING_REFERENCED_TYPES, type EverythingPosition } from '../../search/index.ts';
import { callerOfContext, grantedKeys } from '../access/caller-access.ts';
import type { FhirContext } from '../context.ts';
import { preferLenient } from '../request.ts';
import type { OperationCall, PackagedOperationHandler } from './operation.ts';
import { instantParameter, listParameter, parameterStrings, refuseUnsupported } from './operation-parameters.ts';

const SUPPORTED = new Set(['_since', '_type', '_count', '_cursor', '_format', '_pretty']);

function encodePosition(position: EverythingPosition): string {
  return Buffer.from(JSON.stringify([position.section, position.resourceType, position.id])).toString('base64url');
}

function decodePosition(value: string): EverythingPosition {
  try {
    const [section, resourceType, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    if (Number.isInteger(section) && typeof resourceType === 'string' && typeof id === 'string') {
      return { section: section as number, resourceType, id };
    }
  } catch {
    // fall through
  }
  throw badRequest(`_cursor=${value} is not a position this server issued; follow the Bundle's next link.`, '_cursor');
}

function countParameter(ctx: FhirContext, call: OperationCall): number {
  const [raw] = parameterStrings(call.parameters, '_count');
  if (raw === undefined) return ctx.config.maxPageSize;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    throw badRequest(`_count=${raw} is not a positive integer.`, '_count');
  }
  return Math.min(count, ctx.config.maxPageSize);
}

/** The patients whose records are asked for: the instance, or (type level) those the caller's grant is confined to. */
async function patientsOf(ctx: FhirContext, call: OperationCall): Promise<string[]> {
  if (call.id !== undefined) return [call.id];
  const decision = decideAccess(await callerOfContext(ctx), 'Patient', 'r', ctx.conformance.searchParameters);
  if (decision.kind === 'confined') {
    const patients = [...new Set(decision.confinements.flatMap((c) => c.patients ?? []))];
    if (patients.length > 0) return patients;
  }
  throw badRequest(
    'Patient/$everything answers for the patients an access token is confined to (patient/ scopes, or user/ scopes of a patient or related person); this token reaches every patient. Ask for one record with Patient/[id]/$everything, or for all with Patient/$export (Bulk Data).',
  );
}

/**
 * Types the caller may read here, narrowed by `_type`; and whether any of them is confined, so the
 * page's entries must be checked one by one (one query per page).
 */
async function readableTypes(ctx: FhirContext, requested: readonly string[] | undefined): Promise<{ types: string[]; confined: boolean }> {
  const caller = await callerOfContext(ctx);
  const parameters = ctx.conformance.searchParameters;
  const candidates = ctx.conformance.resourceTypes
    .list()
    .filter((type) => type === 'Patient' || (parameters.compartmentParams('Patient', type)?.length ?? 0) > 0 || EVERYTHING_REFERENCED_TYPES.includes(type));
  for (const type of requested ?? []) {
    if (!candidates.includes(type)) {
      throw badRequest(`_type=${type}: ${ctx.conformance.resourceTypes.isKnown(type) ? `${type} is neither in the Patient compartment nor a directory type $everything adds` : `${type} is not an R4 resource type`}.`, '_type');
    }
  }
  let confined = false;
  const types = (requested ?? candidates).filter((type) => {
    const decision = decideAccess(caller, type, 'r', parameters);
    confined ||= decision.kind === 'confined';
    return decision.kind !== 'denied';
  });
  return { types, confined };
}

function pageLink(ctx: FhirContext, call: OperationCall, since: string | undefined, types: readonly string[] | undefined, count: number, cursor?: string): string {
  const path = call.id !== undefined ? `Patient/${call.id}/$everything` : 'Patient/$everything';
  const query = new URLSearchParams();
  if (since !== undefined) query.set('_since', since);
  if (types !== undefined) query.set('_type', types.join(','));
  query.set('_count', String(count));
  if (cursor !== undefined) query.set('_cursor', cursor);
  return `${ctx.config.baseUrl}/${path}?${query}`;
}

/**
 * `Patient/[id]/$everything` and `Patient/$everything` (https://hl7.org/fhir/R4/patient-operation-everything.html):
 * the Patient, every resource in its compartment and the directory resources they reference, each
 * once, as a searchset paged by `_count` with stable `next` links. Every entry is one the caller's
 * scopes let them read: types they may not read are left out, confined types are checked per
 * entry. Definition: profiles/input/OperationDefinition-Patient-everything.json.
 */
export const patientEverythingOperation: PackagedOperationHandler = {
  url: `${KANSAS_CANONICAL_BASE}/OperationDefinition/Patient-everything`,
  async handle(ctx, call) {
    const issues: OperationOutcomeIssue[] = [];
    refuseUnsupported(call.parameters, SUPPORTED, preferLenient(call.request), issues);
    const since = instantParameter(call.parameters, '_since');
    const requested = listParameter(call.parameters, '_type');
    const count = countParameter(ctx, call);
    const [cursor] = parameterStrings(call.parameters, '_cursor');
    const patients = await patientsOf(ctx, call);
    const { types, confined } = await readableTypes(ctx, requested);
    const rows = await ctx.search.everythingPage(ctx.repo, { patients, types, since, after: cursor === undefined ? undefined : decodePosition(cursor), limit: count + 1 });
    const page = rows.slice(0, count);
    const granted = confined ? await grantedKeys(ctx, page, 'r') : undefined;
    const entries: BundleEntry[] = page
      .filter((row) => granted === undefined || granted.has(`${row.resourceType}/${row.id}`))
      .map((row) => ({
        fullUrl: `${ctx.config.baseUrl}/${row.resourceType}/${row.id}`,
        resource: JSON.parse(row.content) as Resource,
        search: { mode: row.section < 2 ? 'match' : 'include' },
      }));
    const links: BundleLink[] = [{ relation: 'self', url: pageLink(ctx, call, since, requested, count, cursor) }];
    if (rows.length > count) {
      links.push({ relation: 'next', url: pageLink(ctx, call, since, requested, count, encodePosition(page[page.length - 1])) });
    }
    if (issues.length) entries.push({ resource: { resourceType: 'OperationOutcome', issue: issues }, search: { mode: 'outcome' } });
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link: links, entry: entries };
    return { status: 200, resource: bundle };
  },
};
