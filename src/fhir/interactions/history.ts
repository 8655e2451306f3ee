import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import type { HistoryQuery, StoredVersion } from '../../store/repository.ts';
import type { FhirContext } from '../context.ts';
import { badRequest, notFound } from '../outcomes.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { assertValidId } from './resource-body.ts';

const HISTORY_PARAMS = new Set(['_count', '_since', '_at', '_page', '_format', '_pretty']);
const FHIR_INSTANT = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

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

function instantParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!FHIR_INSTANT.test(value) || Number.isNaN(Date.parse(value))) {
    throw badRequest(`${name}=${value} is not a date or instant; use e.g. ${name}=2026-01-31T12:00:00Z.`, name);
  }
  return value;
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
    since: instantParam(params.get('_since'), '_since'),
    at: instantParam(params.get('_at'), '_at'),
    beforeKey: page === undefined ? undefined : decodePage(page),
    count: pageSize + 1,
  };
  if (id !== undefined && resourceType !== undefined && !(await ctx.repo.readCurrent(resourceType, id))) {
    throw notFound(`${resourceType}/${id} has no history: it never existed.`);
  }
  const versions = await ctx.repo.history(query);
  const shown = versions.slice(0, pageSize);
  const path = [resourceType, id, '_history'].filter(Boolean).join('/');
  const baseQuery = new URLSearchParams([...params].filter(([name]) => name !== '_page'));
  baseQuery.set('_count', String(pageSize));
  const link: BundleLink[] = [{ relation: 'self', url: `${ctx.config.baseUrl}/${path}?${new URLSearchParams(request.query.map(([n, v]) => [n, v])).toString()}` }];
  if (versions.length > pageSize && shown.length > 0) {
    baseQuery.set('_page', encodePage(shown[shown.length - 1]));
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
