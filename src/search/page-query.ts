import type { Conformance } from '../conformance/conformance.ts';
import type { SqlParam } from '../store/database.ts';
import { explainAsRun } from '../store/explain.ts';
import type { Repository } from '../store/repository.ts';
import type { SearchTarget } from './condition-target.ts';
import { containedSource } from './contained-search.ts';
import { directiveSql, type IncludeAccess } from './include.ts';
import { decodeCursor, keysetCondition, orderBy, type Cursor } from './paging.ts';
import { planSearch } from './parse-search.ts';
import type { ParsedSearch, SearchInput } from './search-request.ts';
import { parseSort, type SortKey } from './sort.ts';
import { SqlBuilder } from './sql.ts';
import { conditionText, searchConditions, type IdBound, type SearchConditions } from './where-clause.ts';

/** A row of the page statement; the sort keys of a page row come back as text in c0..cn. */
export interface PageRow {
  resource_type: string;
  id: string;
  content: string;
  total?: string | number;
  /** With `_include`/`_revinclude`: 0 for a row of the page, n for a row the n-th directive includes. */
  part?: number;
  [key: `c${number}`]: string | null;
}

/** The number of matches of a search (`_total`, `_summary=count`). */
export async function countMatches(conformance: Conformance, repo: Repository, input: SearchInput, target: SearchTarget, parsed: ParsedSearch): Promise<number> {
  const { sql, params } = countStatement(conformance, input, target, parsed);
  const [row] = await repo.sql.query<{ n: string | number }>(sql, params);
  return Number(row.n);
}

function countStatement(conformance: Conformance, input: SearchInput, target: SearchTarget, parsed: ParsedSearch): { sql: string; params: SqlParam[] } {
  const q = new SqlBuilder();
  if (parsed.contained.match !== 'false') {
    return { sql: `SELECT count(*) AS n FROM (${containedSource(conformance, q, input, target, parsed).sql}) s`, params: q.params };
  }
  const where = searchConditions(conformance, q, input, target, parsed.filters, parsed.useCombinations);
  // Candidates that are exactly the matches are counted without reading a resource row.
  const sql = where.alone && where.candidates
    ? `SELECT count(DISTINCT c.resource_id) AS n FROM (${where.candidates}) c`
    : `SELECT count(*) AS n FROM resource r WHERE ${conditionText(where)}`;
  return { sql, params: q.params };
}

export interface PageQuery {
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
export function pageQuery(conformance: Conformance, input: SearchInput, target: SearchTarget, parsed: ParsedSearch, withTotal = false): PageQuery {
  const q = new SqlBuilder();
  let source: string;
  let keys: SortKey[];
  if (parsed.contained.match === 'false') {
    const where = searchConditions(conformance, q, input, target, parsed.filters, parsed.useCombinations, idBoundOf(target, parsed));
    if (!parsed.sortText && where.alone && where.candidates) {
      return pageByCandidates(q, target, parsed, where, withTotal, input.maxPageSize, { baseUrl: input.baseUrl, conformance, access: input.access });
    }
    keys = parsed.sortText ? parseSort(q, conformance.searchParameters, target.resourceTypes, parsed.sortText) : [];
    const keyColumns = keys.map((key, i) => `, ${key.expr} AS k${i}`).join('');
    source = `SELECT r.resource_type, r.id, r.content${keyColumns} FROM resource r WHERE ${conditionText(where)}`;
  } else {
    ({ sql: source, keys } = containedSource(conformance, q, input, target, parsed));
  }
  const cursor: Cursor | undefined = parsed.cursorText ? decodeCursor(parsed.cursorText, keys.length) : undefined;
  const forward = cursor?.direction !== 'previous';
  const keyTexts = keys.map((_, i) => `, s.k${i}::text AS c${i}`).join('');
  const keyset = cursor ? `WHERE ${cursorCondition(q, parsed.contained.match === 'false' ? target : undefined, keys, cursor)}` : '';
  const limit = q.bind(parsed.count + 1);
  // On a first page the total comes with the page (a window count over the same rows), saving
  // a second pass over the index for _total.
  const total = withTotal ? ', count(*) OVER () AS total' : '';
  const page = `SELECT s.resource_type, s.id, s.content${keyTexts}${total}
     FROM (${source}) s
     ${keyset}
     ORDER BY ${orderBy(keys, forward)}
     LIMIT ${limit}`;
  const includeAccess = { baseUrl: input.baseUrl, conformance, access: input.access };
  const sql = parsed.includes.length ? withFirstIncludeRound(q, page, parsed, keys.length, withTotal, input.maxPageSize, includeAccess) : page;
  return { sql, params: q.params, keys, cursor, forward };
}

/**
 * The page of a search of one type without `_sort` whose candidate ids are exactly its matches
 * (SearchConditions.alone): the candidates are collected once, counted for the total, and walked
 * in id order, each joined to its resource row by primary key until the page is full. So a page of
 * 20 reads 21 resource rows however many the person has (800 Observations: 1,200 buffers before,
 * issue 23), where a window count over the joined rows read all of them. `NOT r.deleted` stays as
 * a guard; the total counts the candidates.
 */
function pageByCandidates(q: SqlBuilder, target: SearchTarget, parsed: ParsedSearch, where: SearchConditions, withTotal: boolean, cap: number, access: IncludeAccess): PageQuery {
  const cursor = parsed.cursorText ? decodeCursor(parsed.cursorText, 0) : undefined;
  const forward = cursor?.direction !== 'previous';
  const dir = forward ? 'ASC' : 'DESC';
  // A cursor of another type (not one this search wrote) bounds nothing here: idBoundOf left it out.
  const keyset = cursor && cursor.resourceType === target.resourceTypes[0] ? '' : cursor ? `AND (r.resource_type, r.id) ${forward ? '>' : '<'} (${q.bind(cursor.resourceType)}::text, ${q.bind(cursor.id)}::text)` : '';
  const total = withTotal ? ', (SELECT count(*) FROM c) AS total' : '';
  // MATERIALIZED: the candidates and their probes run once for both the count and the page. The
  // resource row is a LATERAL probe kept apart by OFFSET 0, so the page is a nested loop in id order
  // that stops when full: as a plain join, PostgreSQL chose a hash join over a scan of every
  // resource of the type on small tables (test/search/patient-plans.test.ts).
  const page = `WITH c AS MATERIALIZED (SELECT DISTINCT resource_id FROM (${where.candidates}) d)
     SELECT r.resource_type, r.id, r.content${total}
     FROM (SELECT resource_id FROM c ORDER BY resource_id ${dir}) o
     CROSS JOIN LATERAL (SELECT r.resource_type, r.id, r.content FROM resource r
       WHERE r.id = o.resource_id AND ${where.outer.join(' AND ')} ${keyset} OFFSET 0) r
     ORDER BY o.resource_id ${dir}
     LIMIT ${q.bind(parsed.count + 1)}`;
  const sql = parsed.includes.length ? withFirstIncludeRound(q, page, parsed, 0, withTotal, cap, access) : page;
  return { sql, params: q.params, keys: [], cursor, forward };
}

/** The id a later page of one type without `_sort` continues from (see cursorCondition). */
function idBoundOf(target: SearchTarget, parsed: ParsedSearch): IdBound | undefined {
  if (parsed.sortText || !parsed.cursorText || target.resourceTypes.length !== 1) return undefined;
  const cursor = decodeCursor(parsed.cursorText, 0);
  return cursor.resourceType === target.resourceTypes[0] ? { id: cursor.id, after: cursor.direction === 'next' } : undefined;
}

/**
 * The keyset condition of a later page. A search of one type without `_sort` continues by id
 * alone: as the row comparison (resource_type, id) > (…) it was pushed into the resource lookup,
 * where the embedded database's generic plan matched it to the (resource_type, last_updated, id)
 * index and read ~9 index pages per candidate instead of one primary-key probe (issue 23).
 * `target` is undefined for a contained search, whose rows may be of other types.
 */
function cursorCondition(q: SqlBuilder, target: SearchTarget | undefined, keys: readonly SortKey[], cursor: Cursor): string {
  if (target && keys.length === 0 && target.resourceTypes.length === 1 && cursor.resourceType === target.resourceTypes[0]) {
    return `s.id ${cursor.direction === 'next' ? '>' : '<'} ${q.bind(cursor.id)}::text`;
  }
  return keysetCondition(q, keys, cursor);
}

/**
 * The page statement with the first round of `_include`/`_revinclude` in it: the page's rows
 * (part 0, in page order) and, for each directive, the resources it includes for the first
 * `_count` of them (part n), so a search with includes costs one statement, not one plus one
 * per directive. Later `:iterate` rounds run on their own (resolveIncludes).
 */
function withFirstIncludeRound(q: SqlBuilder, page: string, parsed: ParsedSearch, keyCount: number, withTotal: boolean, cap: number, access: IncludeAccess): string {
  const keys = Array.from({ length: keyCount }, (_, i) => `c${i}`);
  const pageColumns = ['resource_type', 'id', 'content', ...keys, ...(withTotal ? ['total'] : [])].join(', ');
  const emptyColumns = [...keys.map((k) => `NULL::text AS ${k}`), ...(withTotal ? ['NULL::bigint AS total'] : [])].map((c) => `, ${c}`).join('');
  // The extra row that only tells whether a next page exists is not a source of includes.
  const sources = `(SELECT resource_type, id FROM page WHERE ord <= ${q.bind(parsed.count)}) AS src`;
  const included = parsed.includes.map(
    (directive, i) => `UNION ALL SELECT ${i + 1} AS part, NULL::bigint AS ord, x.resource_type, x.id, x.content${emptyColumns}
       FROM (${directiveSql(q, sources, directive, cap + 1, access)}) x`,
  );
  // row_number() over the ordered, limited page numbers its rows in page order.
  return `WITH page AS MATERIALIZED (SELECT p.*, row_number() OVER () AS ord FROM (${page}) p)
     SELECT 0 AS part, ord, ${pageColumns} FROM page
     ${included.join('\n     ')}
     ORDER BY part, ord`;
}

/** The rows of a page statement by part: [page rows, rows of directive 1, ...]. */
export function splitParts(rows: PageRow[], directives: number): PageRow[][] {
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
export function firstPageCountsTotal(parsed: ParsedSearch): boolean {
  return !parsed.cursorText && parsed.total !== 'none';
}

/**
 * The plan of the statement a search runs for its parameter values: the page query, or the count
 * of `_summary=count` / `_count=0` (tests and bench check its shape). On the embedded database it
 * is the generic plan the statement runs on there (store/explain.ts).
 */
export async function explainSearch(conformance: Conformance, repo: Repository, input: SearchInput, analyze = false): Promise<string> {
  const { target, parsed } = await planSearch(conformance, repo, input);
  const { sql, params } =
    parsed.summary === 'count' || parsed.count === 0
      ? countStatement(conformance, input, target, parsed)
      : pageQuery(conformance, input, target, parsed, firstPageCountsTotal(parsed));
  return explainAsRun(repo.sql, repo.db.driver, sql, params, analyze);
}
