import { searchAccessOf } from '../access/caller-access.ts';
import type { FhirContext } from '../context.ts';
import { isCostlySearch } from '../search-limits.ts';
import { badRequest } from '../../outcomes.ts';
import { preferLenient, type FhirRequest, type FhirResponse } from '../request.ts';

/** Parameters that shape the HTTP response, not the search (https://hl7.org/fhir/R4/http.html#parameters). */
const FORMAT_PARAMS = new Set(['_format', '_pretty']);

/** The search parameters of a request: the query string, plus a form body for POST _search. */
export function searchParamsOf(request: FhirRequest): [string, string][] {
  const params = request.query.filter(([name]) => !FORMAT_PARAMS.has(name)).map(([n, v]) => [n, v] as [string, string]);
  if (request.method === 'POST') {
    if (request.contentType !== 'application/x-www-form-urlencoded') {
      throw badRequest(`POST _search takes an application/x-www-form-urlencoded body, not ${request.contentType ?? 'no Content-Type'}.`);
    }
    for (const [name, value] of new URLSearchParams(typeof request.body === 'string' ? request.body : '')) {
      if (!FORMAT_PARAMS.has(name)) {
        params.push([name, value]);
      }
    }
  }
  return params;
}

/**
 * type, system and compartment search (https://hl7.org/fhir/R4/search.html). The search engine
 * (src/search/) does the work in SQL and builds the searchset Bundle.
 */
export async function handleSearch(
  ctx: FhirContext,
  request: FhirRequest,
  resourceTypes: readonly string[],
  compartment?: { resourceType: string; id: string },
): Promise<FhirResponse> {
  const params = searchParamsOf(request);
  const access = await searchAccessOf(ctx);
  const { timeoutMs } = ctx.config.searchLimits;
  const costly = isCostlySearch(params);
  // A pathological search must not stall the others: it gets a statement timeout, and costly
  // ones share a few slots so that they never take every pooled connection, each on one core.
  const search = () =>
    ctx.repo.withStatementLimits({ timeoutMs, singleWorker: costly }, (repo) =>
      ctx.search.searchResources(repo, {
        resourceTypes,
        params,
        compartment,
        baseUrl: ctx.config.baseUrl,
        lenient: preferLenient(request),
        defaultPageSize: ctx.config.defaultPageSize,
        maxPageSize: ctx.config.maxPageSize,
        access,
      }),
    );
  const bundle = costly && ctx.costlySearches ? await ctx.costlySearches.run(search) : await search();
  return { status: 200, resource: bundle };
}
