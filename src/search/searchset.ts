import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { Conformance } from '../conformance/conformance.ts';
import { issue } from '../outcomes.ts';
import type { Repository } from '../store/repository.ts';
import { containedResource } from './contained-search.ts';
import { resolveIncludes } from './include.ts';
import { countMatches, firstPageCountsTotal, pageQuery, splitParts, type PageRow } from './page-query.ts';
import { encodeCursor, type Cursor } from './paging.ts';
import { planSearch } from './parse-search.ts';
import type { SearchInput } from './search-request.ts';
import { applyElements, applySummary } from './summary.ts';

/** The URL of a page of the search: its path and the parameters as applied (https://hl7.org/fhir/R4/http.html#paging). */
function pageUrl(input: SearchInput, params: readonly (readonly [string, string])[]): string {
  const base = input.baseUrl.replace(/\/+$/, '');
  let path = base;
  if (input.compartment) {
    path += `/${input.compartment.resourceType}/${input.compartment.id}`;
  }
  if (input.resourceTypes.length === 1) {
    path += `/${input.resourceTypes[0]}`;
  } else if (input.compartment) {
    path += '/*';
  }
  const query = new URLSearchParams(params.map(([n, v]) => [n, v])).toString();
  return query ? `${path}?${query}` : path;
}

/**
 * Type, system and compartment search (https://hl7.org/fhir/R4/search.html): selects in SQL over
 * the index tables, pages by keyset and returns the complete searchset Bundle.
 */
export async function searchResources(conformance: Conformance, repo: Repository, input: SearchInput): Promise<Bundle> {
  const { target, parsed } = await planSearch(conformance, repo, input);
  const explicitTypes = input.params.find(([name]) => name === '_type');
  const selfParams: [string, string][] = explicitTypes && !input.resourceTypes.length ? [['_type', explicitTypes[1]], ...parsed.applied] : parsed.applied;

  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset' };
  const entries: BundleEntry[] = [];
  const links: BundleLink[] = [];

  if (parsed.summary === 'count' || parsed.count === 0) {
    bundle.total = await countMatches(conformance, repo, input, target, parsed);
    links.push({ relation: 'self', url: pageUrl(input, selfParams) });
    bundle.link = links;
    if (parsed.issues.length) {
      bundle.entry = [{ resource: { resourceType: 'OperationOutcome', issue: parsed.issues }, search: { mode: 'outcome' } }];
    }
    return bundle;
  }

  const windowTotal = firstPageCountsTotal(parsed);
  const { sql, params, keys, cursor, forward } = pageQuery(conformance, input, target, parsed, windowTotal);
  // With includes the statement's rows are the page (part 0) and then each directive's (part n).
  const [rows, ...firstRound] = splitParts(await repo.sql.query<PageRow>(sql, params), parsed.includes.length);
  const more = rows.length > parsed.count;
  const page = rows.slice(0, parsed.count);
  if (!forward) {
    page.reverse();
  }
  const cursorOf = (row: PageRow, direction: Cursor['direction']): string =>
    encodeCursor({ direction, values: keys.map((_, i) => row[`c${i}`] ?? null), resourceType: row.resource_type, id: row.id });

  links.push({ relation: 'self', url: pageUrl(input, parsed.cursorText ? [...selfParams, ['_cursor', parsed.cursorText]] : selfParams) });
  const hasNext = forward ? more : page.length > 0;
  const hasPrevious = forward ? cursor !== undefined && page.length > 0 : more;
  if (hasNext && page.length) {
    links.push({ relation: 'next', url: pageUrl(input, [...selfParams, ['_cursor', cursorOf(page[page.length - 1], 'next')]]) });
  }
  if (hasPrevious && page.length) {
    links.push({ relation: 'previous', url: pageUrl(input, [...selfParams, ['_cursor', cursorOf(page[0], 'previous')]]) });
  }

  // _total (https://hl7.org/fhir/R4/search.html#total): a first page that is not full is the total.
  if (parsed.total !== 'none') {
    if (!cursor && !more) {
      bundle.total = page.length;
    } else if (windowTotal) {
      bundle.total = Number(rows[0]?.total ?? 0);
    } else if (parsed.total !== 'default') {
      bundle.total = await countMatches(conformance, repo, input, target, parsed);
    }
  }

  const base = input.baseUrl.replace(/\/+$/, '');
  const shape = (resource: Resource): Resource => {
    if (parsed.elements) {
      return applyElements(resource, parsed.elements);
    }
    return applySummary(resource, parsed.summary);
  };
  for (const row of page) {
    const containedId = parsed.contained.match !== 'false' && parsed.contained.returns === 'contained' ? row.c0 : undefined;
    if (containedId) {
      // _containedType=contained: the contained resource itself, its fullUrl the container's URL
      // with the '#id' fragment that references to it use (https://hl7.org/fhir/R4/references.html#contained).
      const resource = containedResource(row.content, containedId);
      if (resource) {
        entries.push({ fullUrl: `${base}/${row.resource_type}/${row.id}#${containedId}`, resource: shape(resource), search: { mode: 'match' } });
      }
      continue;
    }
    entries.push({
      fullUrl: `${base}/${row.resource_type}/${row.id}`,
      resource: shape(JSON.parse(row.content) as Resource),
      search: { mode: 'match' },
    });
  }
  const issues = [...parsed.issues];
  if (parsed.includes.length && page.length) {
    const included = await resolveIncludes(
      repo.sql,
      page.map((row) => ({ resourceType: row.resource_type, id: row.id })),
      parsed.includes,
      input.maxPageSize,
      firstRound,
      { baseUrl: input.baseUrl, conformance, access: input.access },
    );
    for (const resource of included.resources) {
      entries.push({ fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource: shape(resource), search: { mode: 'include' } });
    }
    if (included.truncated) {
      issues.push(
        issue(
          'incomplete',
          `_include/_revinclude stopped after ${input.maxPageSize} resources; use a smaller _count to get all included resources of each page.`,
          undefined,
          'warning',
        ),
      );
    }
  }
  if (issues.length) {
    entries.push({ resource: { resourceType: 'OperationOutcome', issue: issues }, search: { mode: 'outcome' } });
  }
  bundle.link = links;
  if (entries.length) {
    bundle.entry = entries;
  }
  return bundle;
}
