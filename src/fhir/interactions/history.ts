import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import type { HistoryQuery, StoredVersion } from '../../store/repository.ts';
import { grantedKeys } from '../access/caller-access.ts';
import type { FhirContext } from '../context.ts';
import { badRequest, notFound } from '../../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { assertValidId } from './resource-body.ts';

const HISTORY_PARAMS = new Set(['_count', '_since', '_at', '_page', '_format', '_pretty']);
/** A FHIR date, dateTime or instant: year, month, day, hour, minute, second, fraction, zone. */
const FHIR_DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

type PageKey = NonNullable<HistoryQuery['beforeKey']>;

function encodePage(version: StoredVersion): string {
  return Buffer.from(JSON.stringify([version.tx, version.resourceType, version.id, version.versionId])).toString('base64url');
}

function decodePage(token: string): PageKey {
  try {
    const [tx, resourceType, id, versionId] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [number, string, string, number];
    if (Number.isInteger(tx) && typeof resourceType === 'string' && typeof id === 'string' && Number.isInteger(versionId)) {
      return { tx, resourceType, id, versionId };
    }
  } catch {
    // fall through
  }
  throw badRequest(`_page=${token} is not a page token this server issued; follow the Bundle's next link.`, '_page');
}

/**
 * The period a `_since` / `_at` value stands for, as instants [from, until): `2026` is the whole
 * year, `2026-01-31T12:00:00Z` that second (https://hl7.org/fhir/R4/search.html#date); a date
 * without a time is a UTC day. A time without a zone is a 400: R4 requires one ("If hours and
 * minutes are specified, a time zone SHALL be populated", datatypes.html#dateTime; `_since` is an
 * instant, http.html#history), and reading a Kansas client's local time as UTC would shift the
 * window by five or six hours. Calendar-impossible values (2026-02-30) are 400, not SQL errors.
 */
function timeRangeParam(value: string | undefined, name: string): { from: string; until: string } | undefined {
  if (value === undefined) {
    return undefined;
  }
  const invalid = () => badRequest(`${name}=${value} is not a date or instant; use e.g. ${name}=2026-01-31T12:00:00Z.`, name);
  const match = FHIR_DATE_TIME.exec(value);
  if (!match) {
    throw invalid();
  }
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  if (hour !== undefined && !zone) {
    throw badRequest(`${name}=${value} has a time but no time zone; add Z or an offset, e.g. ${name}=${value}Z or ${name}=${value}-06:00.`, name);
  }
  const parts = [Number(year), Number(month ?? 1) - 1, Number(day ?? 1), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0)] as const;
  const local = new Date(Date.UTC(...parts));
  // Date.UTC rolls 2026-02-30 over to March 2; a changed field means the value was impossible.
  const fields = [local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), local.getUTCHours(), local.getUTCMinutes(), local.getUTCSeconds()];
  if (fields.some((field, i) => field !== parts[i])) {
    throw invalid();
  }
  const offsetMinutes = !zone || zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const from = local.getTime() - offsetMinutes * 60_000 + (fraction ? Math.floor(Number(fraction) * 1000) : 0);
  const end = new Date(from);
  if (fraction) end.setUTCMilliseconds(end.getUTCMilliseconds() + 1);
  else if (second) end.setUTCSeconds(end.getUTCSeconds() + 1);
  else if (minute) end.setUTCMinutes(end.getUTCMinutes() + 1);
  else if (day) end.setUTCDate(end.getUTCDate() + 1);
  else if (month) end.setUTCMonth(end.getUTCMonth() + 1);
  else end.setUTCFullYear(end.getUTCFullYear() + 1);
  return { from: new Date(from).toISOString(), until: end.toISOString() };
}

function entryOf(ctx: FhirContext, version: StoredVersion): BundleEntry {
  const url = `${version.resourceType}/${version.id}`;
  return {
    fullUrl: `${ctx.config.baseUrl}/${url}`,
    resource: version.resource,
    request: { method: version.method === 'PATCH' ? 'PATCH' : version.method, url: version.method === 'POST' ? version.resourceType : url },
    response: {
      status: version.deleted ? '204' : version.versionId === 1 ? '201' : '200',
      etag: `W/"${version.versionId}"`,
      lastModified: version.lastUpdated,
    },
  };
}

/**
 * history at instance, type or system level (https://hl7.org/fhir/R4/http.html#history):
 * newest first, `_since`, `_at`, `_count`, and keyset paging so that next links stay correct
 * while new versions are written.
 */
export async function handleHistory(
  ctx: FhirContext,
  request: FhirRequest,
  resourceType?: string,
  id?: string,
): Promise<FhirResponse> {
  if (id !== undefined) {
    assertValidId(id);
  }
  const params = new Map<string, string>();
  for (const [name, value] of request.query) {
    if (!HISTORY_PARAMS.has(name)) {
      throw badRequest(`${name} is not a history parameter; history takes _count, _since and _at.`, name);
    }
    params.set(name, value);
  }
  const countText = params.get('_count');
  const count = countText === undefined ? ctx.config.defaultPageSize : Number(countText);
  if (!Number.isInteger(count) || count < 0) {
    throw badRequest(`_count=${countText} must be a non-negative integer.`, '_count');
  }
  const pageSize = Math.min(count, ctx.config.maxPageSize);
  const page = params.get('_page');
  const query: HistoryQuery = {
    resourceType,
    id,
    // _since: versions written at or after the start of the value's period.
    since: timeRangeParam(params.get('_since'), '_since')?.from,
    // _at: versions that were current at some point during the value's period.
    at: timeRangeParam(params.get('_at'), '_at'),
    beforeKey: page === undefined ? undefined : decodePage(page),
    count: pageSize + 1,
  };
  if (id !== undefined && resourceType !== undefined && !(await ctx.repo.readCurrent(resourceType, id))) {
    throw notFound(`${resourceType}/${id} has no history: it never existed.`);
  }
  const versions = await ctx.repo.history(query);
  const scanned = versions.slice(0, pageSize);
  // A confined caller sees the versions of the resources its grants reach now (judged on their
  // current version: one query per page); the next link still follows the unfiltered page.
  const granted = await grantedKeys(ctx, scanned.map((v) => ({ resourceType: v.resourceType, id: v.id })), 'r');
  const shown = granted ? scanned.filter((v) => granted.has(`${v.resourceType}/${v.id}`)) : scanned;
  const path = [resourceType, id, '_history'].filter(Boolean).join('/');
  const baseQuery = new URLSearchParams([...params].filter(([name]) => name !== '_page'));
  baseQuery.set('_count', String(pageSize));
  const selfQuery = new URLSearchParams(request.query.map(([n, v]) => [n, v])).toString();
  const link: BundleLink[] = [{ relation: 'self', url: `${ctx.config.baseUrl}/${path}${selfQuery ? `?${selfQuery}` : ''}` }];
  if (versions.length > pageSize && scanned.length > 0) {
    baseQuery.set('_page', encodePage(scanned[scanned.length - 1]));
    link.push({ relation: 'next', url: `${ctx.config.baseUrl}/${path}?${baseQuery.toString()}` });
  }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    link,
    entry: shown.map((version) => entryOf(ctx, version)),
  };
  return { status: 200, resource: bundle };
}
