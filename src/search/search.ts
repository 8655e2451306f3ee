import type { Bundle, BundleEntry, BundleLink, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { SearchInput } from '../fhir/context.ts';
import { FhirError, badRequest, issue, notSupported } from '../outcomes.ts';
import type { SqlParam } from '../store/database.ts';
import type { Repository } from '../store/repository.ts';
import { isKnownResourceType, listResourceTypes } from '../conformance/base-definitions.ts';
import {
  buildCondition,
  compartmentCondition,
  drivingCondition,
  type ConditionContext,
  type IndexedCondition,
  type SearchTarget,
} from './conditions.ts';
import { chooseCombination, combinationIndexesCurrent } from './combination-index.ts';
import { containedCode } from './extract.ts';
import { directiveSql, parseInclude, resolveIncludes, type IncludeDirective } from './include.ts';
import { compartmentParams } from './parameters.ts';
import { decodeCursor, encodeCursor, keysetCondition, orderBy, type Cursor } from './paging.ts';
import { parseSort, type SortKey } from './sort.ts';
import { SqlBuilder } from './sql.ts';
import { applyElements, applySummary, type SummaryMode } from './summary.ts';

export type { SearchInput };

/** Parameters that control the result rather than select resources (https://hl7.org/fhir/R4/search.html#return). */
const RESULT_PARAMS = new Set(['_sort', '_count', '_total', '_summary', '_elements', '_contained', '_containedType', '_cursor', '_type', '_format', '_pretty']);

interface ParsedSearch {
  readonly filters: (readonly [string, string])[];
  readonly sortText?: string;
  readonly count: number;
  readonly total: 'none' | 'estimate' | 'accurate' | 'default';
  readonly summary: SummaryMode;
  readonly elements?: string[];
  readonly includes: IncludeDirective[];
  readonly cursorText?: string;
  readonly contained: ContainedSearch;
  /** Parameters as applied, for the self link. */
  readonly applied: [string, string][];
  readonly issues: OperationOutcomeIssue[];
  /** Whether combination indexes may drive the query (set by planSearch). */
  readonly useCombinations: boolean;
}

/**
 * `_contained` and `_containedType` (https://hl7.org/fhir/R4/search.html#contained): whether the
 * search matches top-level resources (`false`, the default), contained ones (`true`) or both, and
 * whether a contained match is returned as its container or as the contained resource itself.
 */
interface ContainedSearch {
  readonly match: 'false' | 'true' | 'both';
  readonly returns: 'container' | 'contained';
}

function isIncludeName(name: string): boolean {
  return /^_(rev)?include(:.*)?$/.test(name);
}

/** Validates a filter by building it once into a throwaway builder (the real build happens per query). */
function checkFilter(ctx: ConditionContext, target: SearchTarget, name: string, value: string): void {
  buildCondition(ctx, target, name, value);
}

function parseSearch(input: SearchInput, target: SearchTarget): ParsedSearch {
  const issues: OperationOutcomeIssue[] = [];
  const applied: [string, string][] = [];
  const filters: [string, string][] = [];
  const includes: IncludeDirective[] = [];
  let sortText: string | undefined;
  let count = input.defaultPageSize;
  let total: ParsedSearch['total'] = 'default';
  let summary: SummaryMode = 'false';
  let elements: string[] | undefined;
  let cursorText: string | undefined;
  let contained: ContainedSearch = { match: 'false', returns: 'container' };
  for (const [name, value] of input.params) {
    try {
      if (name === '_format' || name === '_pretty' || name === '_type') {
        continue;
      }
      if (isIncludeName(name)) {
        includes.push(parseInclude(name, value));
      } else if (name === '_sort') {
        parseSort(new SqlBuilder(), target.resourceTypes, value);
        sortText = value;
      } else if (name === '_count') {
        if (!/^\d+$/.test(value)) {
          throw badRequest(`_count must be a whole number from 0 to ${input.maxPageSize}, not '${value}'.`, '_count');
        }
        count = Math.min(Number(value), input.maxPageSize);
        applied.push([name, String(count)]);
        continue;
      } else if (name === '_total') {
        if (value !== 'none' && value !== 'estimate' && value !== 'accurate') {
          throw badRequest(`_total must be none, estimate or accurate, not '${value}'.`, '_total');
        }
        total = value;
      } else if (name === '_summary') {
        if (!['true', 'false', 'text', 'data', 'count'].includes(value)) {
          throw badRequest(`_summary must be true, text, data, count or false, not '${value}'.`, '_summary');
        }
        summary = value as SummaryMode;
      } else if (name === '_elements') {
        elements = value.split(',').map((e) => e.trim()).filter(Boolean);
        if (!elements.length || elements.some((e) => !/^[A-Za-z][A-Za-z0-9]*$/.test(e))) {
          throw badRequest(`_elements takes a comma-separated list of top-level element names, not '${value}'.`, '_elements');
        }
      } else if (name === '_contained') {
        if (value !== 'false' && value !== 'true' && value !== 'both') {
          throw badRequest(`_contained must be false, true or both, not '${value}'.`, '_contained');
        }
        contained = { ...contained, match: value };
      } else if (name === '_containedType') {
        if (value !== 'container' && value !== 'contained') {
          throw badRequest(`_containedType must be container or contained, not '${value}'.`, '_containedType');
        }
        contained = { ...contained, returns: value };
      } else if (name === '_cursor') {
        cursorText = value;
        continue;
      } else if (RESULT_PARAMS.has(name)) {
        continue;
      } else {
        checkFilter({ q: new SqlBuilder(), baseUrl: input.baseUrl }, target, name, value);
        filters.push([name, value]);
      }
      applied.push([name, value]);
    } catch (err) {
      if (input.lenient && err instanceof FhirError && err.status === 400) {
        for (const i of err.outcome.issue ?? []) {
          issues.push({ ...i, severity: 'warning', diagnostics: `Ignored: ${i.diagnostics ?? ''}` });
        }
        continue;
      }
      throw err;
    }
  }
  if (contained.match !== 'false') {
    checkContainedSearch(input, target, sortText, includes, contained);
  }
  return { filters, sortText, count, total, summary, elements, includes, cursorText, contained, applied, issues, useCombinations: false };
}

/** The search's types and parsed parameters, and whether its type's combination indexes are current. */
async function planSearch(repo: Repository, input: SearchInput): Promise<{ target: SearchTarget; parsed: ParsedSearch }> {
  const target = searchTarget(resolveTypes(input));
  const parsed = parseSearch(input, target);
  const types = target.resourceTypes;
  const useCombinations = types.length === 1 && parsed.filters.length > 1 && (await combinationIndexesCurrent(repo, types[0]));
  return { target, parsed: { ...parsed, useCombinations } };
}

/** What a search of contained resources cannot be combined with here (400, also when lenient). */
function checkContainedSearch(
  input: SearchInput,
  target: SearchTarget,
  sortText: string | undefined,
  includes: readonly IncludeDirective[],
  contained: ContainedSearch,
): void {
  if (target.resourceTypes.length !== 1 || input.compartment) {
    throw notSupported(`_contained=${contained.match} works on a search of one resource type (GET [base]/[type]?...), not on system or compartment search.`, '_contained');
  }
  if (sortText !== undefined) {
    // The sort keys of a contained match would be its container's; the spec leaves this open.
    throw notSupported(`_sort cannot be combined with _contained=${contained.match}; leave one of them out.`, '_sort');
  }
  if (includes.length && contained.returns === 'contained') {
    throw notSupported('_include and _revinclude cannot be combined with _containedType=contained; use _containedType=container.', '_containedType');
  }
}

/**
 * The WHERE condition over `resource r` for the filters. `useCombinations`: a search of one
 * type whose combination indexes are current (planSearch) and may drive the query.
 */
function whereClause(
  q: SqlBuilder,
  input: SearchInput,
  target: SearchTarget,
  filters: readonly (readonly [string, string])[],
  useCombinations = false,
): string {
  const ctx: ConditionContext = { q, baseUrl: input.baseUrl };
  const types = target.resourceTypes;
  const conditions = ['NOT r.deleted'];
  if (types.length === 1) {
    conditions.unshift(`r.resource_type = ${q.bind(types[0])}`);
  } else if (types.length < listResourceTypes().length) {
    conditions.unshift(`r.resource_type = ANY(${q.bind(types)}::text[])`);
  }
  // Every type asked for (system search without _type): no type condition, which is true of every
  // row anyway. PostgreSQL before 17 cannot use `resource_type = ANY(...)` to page in primary-key
  // order; the export of a 550,000-resource data set once sorted every page with it (0.7 s a page).
  if (input.compartment) {
    const byType = types.map((type) => {
      const params = compartmentParams(input.compartment?.resourceType ?? '', type);
      if (params === undefined && type !== input.compartment?.resourceType) {
        throw badRequest(`${type} is not in the ${input.compartment?.resourceType} compartment.`);
      }
      const t: SearchTarget = { ...target, resourceTypes: [type] };
      const c = compartmentCondition(ctx, t, type, params ?? [], input.compartment as { resourceType: string; id: string });
      return types.length === 1 ? c : `(r.resource_type = ${q.bind(type)} AND ${c})`;
    });
    conditions.push(byType.length === 1 ? byType[0] : `(${byType.join(' OR ')})`);
  }
  // _id and _lastUpdated are columns of resource itself.
  const onRow = (name: string): boolean => /^_(id|lastUpdated)(:|$)/.test(name);
  const indexed = filters.filter(([name]) => !onRow(name));
  for (const [name, value] of filters.filter(([name]) => onRow(name))) {
    conditions.push(buildCondition(ctx, target, name, value));
  }
  // Drive from the index: the first plain parameter's rows select candidate ids and the other
  // parameters are correlated to those ids, so they filter before any resource row is read
  // (an EXISTS correlated to r could only run after r is joined). See bench/RESULTS.md.
  const probe: SearchTarget = { resourceTypes: types, typeExpr: "''", idExpr: "''" };
  // A combination index answering several parameters with one key drives best (combination-index.ts).
  const combination = useCombinations ? chooseCombination(types[0], indexed, input.baseUrl) : undefined;
  const driverIndex = types.length === 1 && !combination
    ? indexed.findIndex(([name, value]) => drivingCondition({ q: new SqlBuilder(), baseUrl: input.baseUrl }, probe, name, value) !== undefined)
    : -1;
  if (!combination && driverIndex < 0) {
    for (const [name, value] of indexed) {
      conditions.push(buildCondition(ctx, target, name, value));
    }
    return conditions.join(' AND ');
  }
  const inner: SearchTarget = { resourceTypes: types, typeExpr: `${q.bind(types[0])}::text`, idExpr: 'd.resource_id' };
  const driven = (i: number): boolean => (combination ? combination.covered.has(i) : i === driverIndex);
  const driver: IndexedCondition = combination
    ? { table: 'sp_composite', code: combination.code, predicate: `$ALIAS.value = ${q.bind(combination.key)}`, negate: false }
    : (drivingCondition(ctx, inner, ...indexed[driverIndex]) as IndexedCondition);
  const innerConditions = [`d.resource_type = ${inner.typeExpr}`, `d.code = ${q.bind(driver.code)}`];
  if (driver.predicate) {
    innerConditions.push(`(${driver.predicate.replaceAll('$ALIAS', 'd')})`);
  }
  indexed.forEach(([name, value], i) => {
    if (!driven(i)) {
      innerConditions.push(buildCondition(ctx, inner, name, value));
    }
  });
  // OFFSET 0 keeps the candidate subquery from being flattened into a semi-join. Flattened,
  // PostgreSQL misjudges how few rows it yields and may instead walk every resource of the type in
  // primary-key order to skip the sort (30,000 CarePlans read for 3 matches, 20-30 ms instead of
  // 0.3 ms; see bench/RESULTS-search.md). Kept apart, it is planned on its own row estimate.
  conditions.push(`r.id IN (SELECT d.resource_id FROM ${driver.table} d WHERE ${innerConditions.join(' AND ')} OFFSET 0)`);
  return conditions.join(' AND ');
}

interface PageRow {
  resource_type: string;
  id: string;
  content: string;
  total?: string | number;
  /** With `_include`/`_revinclude`: 0 for a row of the page, n for a row the n-th directive includes. */
  part?: number;
  [key: `c${number}`]: string | null;
}

function searchTarget(resourceTypes: readonly string[]): SearchTarget {
  return { resourceTypes, typeExpr: 'r.resource_type', idExpr: 'r.id', row: 'r' };
}

function resolveTypes(input: SearchInput): string[] {
  const fromParam = input.params.find(([name]) => name === '_type')?.[1];
  let types = [...input.resourceTypes];
  if (!types.length && fromParam) {
    types = fromParam.split(',').map((t) => t.trim());
  }
  if (!types.length) {
    types = [...listResourceTypes()];
    const compartment = input.compartment;
    if (compartment) {
      // `Patient/123/*`: every type that can be in the compartment.
      types = types.filter((type) => type === compartment.resourceType || compartmentParams(compartment.resourceType, type)?.length);
    }
  }
  for (const type of types) {
    if (!isKnownResourceType(type)) {
      throw badRequest(`_type: ${type} is not an R4 resource type.`, '_type');
    }
  }
  return [...new Set(types)];
}

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

async function countMatches(repo: Repository, input: SearchInput, target: SearchTarget, parsed: ParsedSearch): Promise<number> {
  const q = new SqlBuilder();
  const sql =
    parsed.contained.match === 'false'
      ? `SELECT count(*) AS n FROM resource r WHERE ${whereClause(q, input, target, parsed.filters, parsed.useCombinations)}`
      : `SELECT count(*) AS n FROM (${containedSource(q, input, target, parsed).sql}) s`;
  const [row] = await repo.sql.query<{ n: string | number }>(sql, q.params);
  return Number(row.n);
}

/** Sort key of a page of contained resources: their id in the container ('' for top-level rows). */
const CONTAINED_ID_KEY: SortKey = { name: '_contained', expr: 'contained_id', sqlType: 'text', descending: false };

/**
 * The keys (container type, container id, contained id) of the contained resources of the
 * searched type that match every filter: the membership rows '<Type>#_id' of their containers,
 * each filter correlated to the same contained resource (https://hl7.org/fhir/R4/search.html#contained).
 */
function containedMatches(q: SqlBuilder, input: SearchInput, type: string, filters: ParsedSearch['filters']): string {
  const m = q.alias('m');
  const target: SearchTarget = { resourceTypes: [type], typeExpr: `${m}.resource_type`, idExpr: `${m}.resource_id`, containedIdExpr: `${m}.contained_id` };
  const ctx: ConditionContext = { q, baseUrl: input.baseUrl };
  const conditions = [
    // Any type can be the container; listing them lets the (resource_type, code, value) index lead.
    `${m}.resource_type = ANY(${q.bind(listResourceTypes())}::text[])`,
    `${m}.code = ${q.bind(containedCode(type, '_id'))}`,
    ...filters.map(([name, value]) => buildCondition(ctx, target, name, value)),
  ];
  return `SELECT ${m}.resource_type, ${m}.resource_id, ${m}.contained_id FROM sp_token ${m} WHERE ${conditions.join(' AND ')}`;
}

/**
 * The rows a search with _contained=true|both pages over (columns resource_type, id, content
 * and, for _containedType=contained, k0 = the contained id): containers of contained matches,
 * or the matches themselves, with the top-level matches too for `both`.
 */
function containedSource(q: SqlBuilder, input: SearchInput, target: SearchTarget, parsed: ParsedSearch): { sql: string; keys: SortKey[] } {
  const type = target.resourceTypes[0];
  const matches = containedMatches(q, input, type, parsed.filters);
  const topLevel = parsed.contained.match === 'both' ? whereClause(q, input, target, parsed.filters, parsed.useCombinations) : undefined;
  if (parsed.contained.returns === 'container') {
    const inContainer = `(r.resource_type, r.id) IN (SELECT x.resource_type, x.resource_id FROM (${matches}) x)`;
    const where = topLevel ? `NOT r.deleted AND ((${topLevel}) OR ${inContainer})` : `NOT r.deleted AND ${inContainer}`;
    return { sql: `SELECT r.resource_type, r.id, r.content FROM resource r WHERE ${where}`, keys: [] };
  }
  const containedRows = `SELECT r.resource_type, r.id, r.content, x.contained_id AS k0
     FROM resource r JOIN (${matches}) x ON r.resource_type = x.resource_type AND r.id = x.resource_id
     WHERE NOT r.deleted`;
  const sql = topLevel ? `${containedRows} UNION ALL SELECT r.resource_type, r.id, r.content, ''::text AS k0 FROM resource r WHERE ${topLevel}` : containedRows;
  return { sql, keys: [CONTAINED_ID_KEY] };
}

/** The contained resource `containedId` of a stored container, if it is there. */
function containedResource(content: string, containedId: string): Resource | undefined {
  const container = JSON.parse(content) as { contained?: Resource[] };
  return container.contained?.find((r) => r.id === containedId);
}

interface PageQuery {
  readonly sql: string;
  readonly params: SqlParam[];
  readonly keys: readonly SortKey[];
  readonly cursor?: Cursor;
  readonly forward: boolean;
}

/**
 * The one SQL statement that selects a page: the filtered resource rows with their sort keys,
 * continued after the cursor, ordered by (sort keys, resource_type, id), count + 1 rows (the
 * extra row tells whether there is a next page).
 */
function pageQuery(input: SearchInput, target: SearchTarget, parsed: ParsedSearch, withTotal = false): PageQuery {
  const q = new SqlBuilder();
  let source: string;
  let keys: SortKey[];
  if (parsed.contained.match === 'false') {
    const where = whereClause(q, input, target, parsed.filters, parsed.useCombinations);
    keys = parsed.sortText ? parseSort(q, target.resourceTypes, parsed.sortText) : [];
    const keyColumns = keys.map((key, i) => `, ${key.expr} AS k${i}`).join('');
    source = `SELECT r.resource_type, r.id, r.content${keyColumns} FROM resource r WHERE ${where}`;
  } else {
    ({ sql: source, keys } = containedSource(q, input, target, parsed));
  }
  const cursor: Cursor | undefined = parsed.cursorText ? decodeCursor(parsed.cursorText, keys.length) : undefined;
  const forward = cursor?.direction !== 'previous';
  const keyTexts = keys.map((_, i) => `, s.k${i}::text AS c${i}`).join('');
  const keyset = cursor ? `WHERE ${keysetCondition(q, keys, cursor)}` : '';
  const limit = q.bind(parsed.count + 1);
  // On a first page the total comes with the page (a window count over the same rows), saving
  // a second pass over the index for _total.
  const total = withTotal ? ', count(*) OVER () AS total' : '';
  const page = `SELECT s.resource_type, s.id, s.content${keyTexts}${total}
     FROM (${source}) s
     ${keyset}
     ORDER BY ${orderBy(keys, forward)}
     LIMIT ${limit}`;
  const sql = parsed.includes.length ? withFirstIncludeRound(q, page, parsed, keys.length, withTotal, input.maxPageSize) : page;
  return { sql, params: q.params, keys, cursor, forward };
}

/**
 * The page statement with the first round of `_include`/`_revinclude` in it: the page's rows
 * (part 0, in page order) and, for each directive, the resources it includes for the first
 * `_count` of them (part n), so a search with includes costs one statement, not one plus one
 * per directive. Later `:iterate` rounds run on their own (resolveIncludes).
 */
function withFirstIncludeRound(q: SqlBuilder, page: string, parsed: ParsedSearch, keyCount: number, withTotal: boolean, cap: number): string {
  const keys = Array.from({ length: keyCount }, (_, i) => `c${i}`);
  const pageColumns = ['resource_type', 'id', 'content', ...keys, ...(withTotal ? ['total'] : [])].join(', ');
  const emptyColumns = [...keys.map((k) => `NULL::text AS ${k}`), ...(withTotal ? ['NULL::bigint AS total'] : [])].map((c) => `, ${c}`).join('');
  // The extra row that only tells whether a next page exists is not a source of includes.
  const sources = `(SELECT resource_type, id FROM page WHERE ord <= ${q.bind(parsed.count)}) AS src`;
  const included = parsed.includes.map(
    (directive, i) => `UNION ALL SELECT ${i + 1} AS part, NULL::bigint AS ord, x.resource_type, x.id, x.content${emptyColumns}
       FROM (${directiveSql(q, sources, directive, cap + 1)}) x`,
  );
  // row_number() over the ordered, limited page numbers its rows in page order.
  return `WITH page AS MATERIALIZED (SELECT p.*, row_number() OVER () AS ord FROM (${page}) p)
     SELECT 0 AS part, ord, ${pageColumns} FROM page
     ${included.join('\n     ')}
     ORDER BY part, ord`;
}

/** The rows of a page statement by part: [page rows, rows of directive 1, ...]. */
function splitParts(rows: PageRow[], directives: number): PageRow[][] {
  if (!directives) {
    return [rows];
  }
  const parts: PageRow[][] = Array.from({ length: directives + 1 }, () => []);
  for (const row of rows) {
    parts[Number(row.part)].push(row);
  }
  return parts;
}

/** Whether the page query counts the total in a window (a first page, unless `_total=none`). */
function firstPageCountsTotal(parsed: ParsedSearch): boolean {
  return !parsed.cursorText && parsed.total !== 'none';
}

/**
 * The PostgreSQL plan of the page query of a search for its parameter values (tests and bench
 * check it uses indexes). The embedded database runs the statement on its generic plan instead;
 * test/search/plans.test.ts checks that one through pg_prepared_statements.
 */
export async function explainSearch(repo: Repository, input: SearchInput, analyze = false): Promise<string> {
  const { target, parsed } = await planSearch(repo, input);
  const { sql, params } = pageQuery(input, target, parsed, firstPageCountsTotal(parsed));
  const rows = await repo.sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${analyze ? '(ANALYZE, BUFFERS) ' : ''}${sql}`, params);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

/**
 * Type, system and compartment search (https://hl7.org/fhir/R4/search.html): selects in SQL over
 * the index tables, pages by keyset and returns the complete searchset Bundle.
 */
export async function searchResources(repo: Repository, input: SearchInput): Promise<Bundle> {
  const { target, parsed } = await planSearch(repo, input);
  const explicitTypes = input.params.find(([name]) => name === '_type');
  const selfParams: [string, string][] = explicitTypes && !input.resourceTypes.length ? [['_type', explicitTypes[1]], ...parsed.applied] : parsed.applied;

  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset' };
  const entries: BundleEntry[] = [];
  const links: BundleLink[] = [];

  if (parsed.summary === 'count' || parsed.count === 0) {
    bundle.total = await countMatches(repo, input, target, parsed);
    links.push({ relation: 'self', url: pageUrl(input, selfParams) });
    bundle.link = links;
    if (parsed.issues.length) {
      bundle.entry = [{ resource: { resourceType: 'OperationOutcome', issue: parsed.issues }, search: { mode: 'outcome' } }];
    }
    return bundle;
  }

  const windowTotal = firstPageCountsTotal(parsed);
  const { sql, params, keys, cursor, forward } = pageQuery(input, target, parsed, windowTotal);
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
      bundle.total = await countMatches(repo, input, target, parsed);
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

/**
 * Ids of current resources of one type matching a search query string (the part after `?`), for
 * conditional create/update/delete and conditional references. Runs in the caller's transaction.
 */
export async function findMatchingIds(repo: Repository, resourceType: string, query: string, limit: number): Promise<string[]> {
  if (!isKnownResourceType(resourceType)) {
    throw badRequest(`${resourceType} is not an R4 resource type.`);
  }
  const target = searchTarget([resourceType]);
  const filters: [string, string][] = [];
  for (const [name, value] of new URLSearchParams(query.replace(/^\?/, ''))) {
    if (RESULT_PARAMS.has(name) || isIncludeName(name)) {
      continue;
    }
    filters.push([name, value]);
  }
  if (!filters.length) {
    throw badRequest(`The conditional search '${resourceType}?${query}' has no search parameters; name at least one, e.g. identifier=system|value.`);
  }
  const q = new SqlBuilder();
  const where = whereClause(
    q,
    { resourceTypes: [resourceType], params: filters, baseUrl: '', lenient: false, defaultPageSize: limit, maxPageSize: limit },
    target,
    filters,
  );
  const rows = await repo.sql.query<{ id: string }>(`SELECT r.id FROM resource r WHERE ${where} ORDER BY r.id LIMIT ${q.bind(limit)}`, q.params);
  return rows.map((row) => row.id);
}
