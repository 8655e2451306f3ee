import type { Group, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { decideAccess } from '../../auth/access-policy.ts';
import { badRequest, forbidden, notFound } from '../../outcomes.ts';
import { pointAt, type TransactionPoint } from '../../store/transaction-points.ts';
import { callerOfContext } from '../access/caller-access.ts';
import type { FhirContext } from '../context.ts';
import type { OperationCall } from '../operations/operation.ts';
import { instantParameter, listParameter, parameterStrings, refuseUnsupported } from '../operations/operation-parameters.ts';
import { preferLenient } from '../request.ts';
import { associatedDataOf, type AssociatedData } from './associated-data.ts';
import { mcoMembers, mcoOf } from './mco-groups.ts';

/** The job kind of a Bulk Data export (src/jobs/). */
export const BULK_EXPORT_JOB = 'bulk-export';

/** What a kick-off asked for, checked, as the export job's input (JSON in the job row). */
export interface ExportJobInput {
  readonly level: 'system' | 'patient' | 'group';
  /**
   * The Patient ids whose compartments are exported, fixed at kick-off: a Group's members, or the
   * `patient` parameter's (within the Group's members); absent: every Patient (Patient level) or
   * everything (system level).
   */
  readonly patients?: readonly string[];
  /**
   * Requested patients that are not exported (missing, or not in the Group), and parameter values
   * ignored under `Prefer: handling=lenient`: the error file (OperationOutcome NDJSON).
   */
  readonly errors?: readonly OperationOutcomeIssue[];
  /** One output file per type, in this order (Provenance last when only `includeAssociatedData` brings it). */
  readonly types: readonly string[];
  /** `includeAssociatedData`: the Provenance of the exported resources, in the Provenance file. */
  readonly associated?: AssociatedData;
  readonly filters: Readonly<Record<string, readonly string[]>>;
  /** The transaction point the export reads as of; its instant is the manifest's transactionTime. */
  readonly point: TransactionPoint;
  readonly since?: { readonly tx: number } | { readonly instant: string };
  /** The kick-off request URL (manifest `request`). */
  readonly request: string;
  readonly issues: readonly OperationOutcomeIssue[];
}

/** https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters */
const SUPPORTED = new Set(['_outputFormat', '_since', '_type', '_typeFilter', 'patient', 'includeAssociatedData', '_format', '_pretty']);
const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

/** `_typeFilter` values: comma-separated queries, each `Type?params` (a comma inside a query's values stays with it). */
function typeFilters(call: OperationCall): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const value of parameterStrings(call.parameters, '_typeFilter')) {
    for (const query of value.split(/,(?=[A-Z][A-Za-z]+\?)/)) {
      const match = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(query.trim());
      if (!match) throw badRequest(`_typeFilter=${query} is not a search query of the form Type?parameters, e.g. CarePlan?status=active.`, '_typeFilter');
      filters.set(match[1], [...(filters.get(match[1]) ?? []), match[2]]);
    }
  }
  return filters;
}

/** Patient ids among a Group's members (https://hl7.org/fhir/R4/group.html: member.entity). */
async function groupMembers(ctx: FhirContext, id: string): Promise<string[]> {
  const current = await ctx.repo.readCurrent('Group', id);
  if (!current || current.deleted) throw notFound(`Group/${id} does not exist; GET /Group lists the groups (one per Kansas MCO is kept by the server).`);
  const group = current.resource as Group;
  const mco = mcoOf(group);
  if (mco !== undefined) return mcoMembers(ctx, mco);
  return [...new Set((group.member ?? []).flatMap((m) => /^Patient\/([^/]+)$/.exec(m.entity?.reference ?? '')?.[1] ?? []))];
}

/**
 * The `patient` parameter's Patient ids (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters:
 * FHIR References, sent in a POST kick-off's Parameters as valueReference; a GET query's
 * `patient=Patient/123` is read alike). Undefined when absent.
 */
function patientParameter(ctx: FhirContext, call: OperationCall): string[] | undefined {
  const given = (call.parameters.parameter ?? []).filter((p) => p.name === 'patient');
  if (given.length === 0) return undefined;
  return [...new Set(given.map((p) => {
    const reference = p.valueReference?.reference ?? p.valueString ?? '';
    const local = reference.startsWith(`${ctx.config.baseUrl}/`) ? reference.slice(ctx.config.baseUrl.length + 1) : reference;
    const id = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(local)?.[1];
    if (id === undefined) {
      throw badRequest(`patient=${reference || JSON.stringify(p)} is not a reference to a Patient on this server; send {"name": "patient", "valueReference": {"reference": "Patient/<id>"}}.`, 'patient');
    }
    return id;
  }))];
}

/**
 * The patients a Patient- or Group-level export with the `patient` parameter reads: those asked for
 * that exist (and, for a Group, are its members); the others become error-file issues, as the IG
 * recommends (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters).
 */
async function requestedPatients(ctx: FhirContext, requested: readonly string[], members: readonly string[] | undefined, groupId: string | undefined): Promise<{ patients: string[]; errors: OperationOutcomeIssue[] }> {
  const patients: string[] = [];
  const errors: OperationOutcomeIssue[] = [];
  const inGroup = members ? new Set(members) : undefined;
  for (const id of requested) {
    if (inGroup && !inGroup.has(id)) {
      errors.push({ severity: 'error', code: 'not-found', diagnostics: `Patient/${id} is not a member of Group/${groupId}; nothing of theirs is exported.`, expression: ['patient'] });
    } else if (inGroup || (await ctx.repo.readCurrent('Patient', id).then((current) => current !== undefined && !current.deleted))) {
      patients.push(id);
    } else {
      errors.push({ severity: 'error', code: 'not-found', diagnostics: `Patient/${id} does not exist on this server; nothing of theirs is exported.`, expression: ['patient'] });
    }
  }
  return { patients, errors };
}

/**
 * Checks a kick-off (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-kick-off-request)
 * and the caller's access: a Bulk Data client reads whole types, so each exported type must be
 * readable unconfined (system/ scopes, https://hl7.org/fhir/uv/bulkdata/STU2/authorization.html); a
 * patient/ token, or any token confined to some persons, cannot start an export.
 */
export async function exportRequestOf(ctx: FhirContext, call: OperationCall, point: () => Promise<TransactionPoint>): Promise<ExportJobInput> {
  const issues: OperationOutcomeIssue[] = [];
  const lenient = preferLenient(call.request);
  if (!/(^|[;,\s])respond-async\b/.test(call.request.headers.prefer ?? '')) {
    throw badRequest('A Bulk Data kick-off needs the header Prefer: respond-async (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#headers).');
  }
  refuseUnsupported(call.parameters, SUPPORTED, lenient, issues);
  const [format] = parameterStrings(call.parameters, '_outputFormat');
  if (format !== undefined && !NDJSON_FORMATS.has(format.replace(/ /g, '+'))) {
    throw badRequest(`_outputFormat=${format} is not supported; use application/fhir+ndjson (or application/ndjson, ndjson).`, '_outputFormat');
  }
  const level = call.id !== undefined ? 'group' : call.resourceType === 'Patient' ? 'patient' : 'system';
  const parameters = ctx.conformance.searchParameters;
  const inCompartment = (type: string): boolean => type === 'Patient' || (parameters.compartmentParams('Patient', type)?.length ?? 0) > 0;
  const requested = listParameter(call.parameters, '_type');
  for (const type of requested ?? []) {
    if (!ctx.conformance.resourceTypes.isKnown(type)) throw badRequest(`_type=${type}: not an R4 resource type (types are case-sensitive, e.g. CarePlan).`, '_type');
    if (level !== 'system' && !inCompartment(type)) throw badRequest(`_type=${type}: a ${level} export holds Patient-compartment types only, and ${type} is not one.`, '_type');
  }
  // Only system/ grants count: a Bulk Data client is a backend service reading populations; a
  // patient/ or user/ grant (even where it reads directory types unconfined) starts no export.
  const full = await callerOfContext(ctx);
  const caller = { ...full, access: { ...full.access, scopes: full.access.scopes.filter((grant) => grant.context === 'system') } };
  const candidates = requested ?? ctx.conformance.resourceTypes.list().filter((type) => level === 'system' || inCompartment(type));
  const types: string[] = [];
  for (const type of candidates) {
    const decision = decideAccess(caller, type, 'r', parameters);
    if (decision.kind === 'unconfined') {
      types.push(type);
    } else if (requested) {
      throw forbidden(
        decision.kind === 'denied'
          ? `This access token has no system/ scope that reads ${type}; a Bulk Data export reads whole types with system/ scopes (https://hl7.org/fhir/uv/bulkdata/STU2/authorization.html): ask for system/${type}.read (or system/${type}.rs).`
          : `This access token reaches ${type} only inside ${decision.confinements.map((c) => c.scope).join(', ')}; a Bulk Data export needs system/ scopes (https://hl7.org/fhir/uv/bulkdata/STU2/authorization.html), e.g. system/${type}.read.`,
      );
    }
  }
  if (types.length === 0) {
    throw forbidden('This access token has no system/ scope that reads a resource type, so it cannot start a Bulk Data export (patient/ and user/ scopes reach persons, not populations): ask for system/ scopes, e.g. system/*.read (https://hl7.org/fhir/uv/bulkdata/STU2/authorization.html).');
  }
  // Kick-off answer and error file alike: what was ignored under handling=lenient.
  const ignored: OperationOutcomeIssue[] = [];
  const associated = associatedDataOf(call, lenient, decideAccess(caller, 'Provenance', 'r', parameters), types.includes('Provenance'), ignored);
  issues.push(...ignored);
  if (associated && !associated.asType) types.push('Provenance');
  const filters = typeFilters(call);
  // A type exported for its own sake takes its _typeFilter; Provenance brought only by includeAssociatedData does not.
  const filtered = (type: string): boolean => types.includes(type) && !(type === 'Provenance' && associated && !associated.asType);
  for (const type of filters.keys()) {
    if (!filtered(type)) issues.push({ severity: 'warning', code: 'informational', diagnostics: `_typeFilter for ${type} ignored: ${type} is not exported.` });
  }
  const sinceInstant = instantParameter(call.parameters, '_since');
  const requestedIds = patientParameter(ctx, call);
  if (requestedIds && level === 'system') {
    throw badRequest('The patient parameter does not apply to a system-level export; POST it to [base]/Patient/$export or [base]/Group/{id}/$export.', 'patient');
  }
  const members = call.id !== undefined ? await groupMembers(ctx, call.id) : undefined;
  const chosen = requestedIds ? await requestedPatients(ctx, requestedIds, members, call.id) : undefined;
  const patients = chosen?.patients ?? members;
  const taken = await point();
  // A _since that is an earlier export's transactionTime continues exactly from that export's point.
  const sinceTx = sinceInstant === undefined ? undefined : await pointAt(ctx.repo.sql, sinceInstant);
  const since = sinceInstant === undefined ? undefined : sinceTx !== undefined ? { tx: sinceTx } : { instant: sinceInstant };
  const query = new URLSearchParams(call.request.query.map(([n, v]) => [n, v])).toString();
  return {
    level,
    patients,
    ...(chosen?.errors.length || ignored.length ? { errors: [...(chosen?.errors ?? []), ...ignored] } : {}),
    types,
    ...(associated ? { associated } : {}),
    filters: Object.fromEntries([...filters].filter(([type]) => filtered(type))),
    point: taken,
    since,
    request: `${ctx.config.baseUrl}/${call.request.path}${query ? `?${query}` : ''}`,
    issues,
  };
}
