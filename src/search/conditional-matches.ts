import type { Conformance } from '../conformance/conformance.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { badRequest } from '../outcomes.ts';
import type { Repository } from '../store/repository.ts';
import { searchTarget } from './condition-target.ts';
import { RESULT_PARAMS, isIncludeName } from './parse-search.ts';
import type { SearchAccess } from './search-request.ts';
import { SqlBuilder } from './sql.ts';
import { whereClause } from './where-clause.ts';

/**
 * Ids of current resources of one type matching a search query string (the part after `?`), for
 * conditional create/update/delete and conditional references. Runs in the caller's transaction.
 */
export async function findMatchingIds(
  conformance: Conformance,
  repo: Repository,
  resourceType: string,
  query: string,
  limit: number,
  access?: SearchAccess,
): Promise<string[]> {
  if (!conformance.resourceTypes.isKnown(resourceType)) {
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
    conformance,
    q,
    { resourceTypes: [resourceType], params: filters, baseUrl: '', lenient: false, defaultPageSize: limit, maxPageSize: limit, access },
    target,
    filters,
  );
  const rows = await repo.sql.query<{ id: string }>(`SELECT r.id FROM resource r WHERE ${where} ORDER BY r.id LIMIT ${q.bind(limit)}`, q.params);
  return rows.map((row) => row.id);
}

/** One conditional search: a resource type and the query after `?`. */
export interface MatchCriteria {
  readonly resourceType: string;
  readonly query: string;
}

interface TokenCriteria {
  readonly code: string;
  readonly system: string;
  readonly value: string;
}

/**
 * The criteria as one `system|code` token match, when that is all they say: a single token
 * parameter without modifier, one value, no escapes. Business identifiers
 * (`identifier=https://…|PCSP-1`) have this form; it means the same as tokenPredicate's
 * `system = … AND value = …` (https://hl7.org/fhir/R4/search.html#token).
 */
function asTokenCriteria(parameters: SearchParameterRegistry, { resourceType, query }: MatchCriteria): TokenCriteria | undefined {
  const pairs = [...new URLSearchParams(query.replace(/^\?/, ''))];
  if (pairs.length !== 1) return undefined;
  const [[name, raw]] = pairs;
  const def = /^_|[:.]/.test(name) ? undefined : parameters.param(resourceType, name);
  if (def?.type !== 'token' || /[,\\$]/.test(raw)) return undefined;
  const parts = raw.split('|');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return { code: def.code, system: parts[0], value: parts[1] };
}

/**
 * `findMatchingIds` for many criteria at once, as a transaction Bundle needs them: identifier
 * criteria are answered together in one statement (a document import has ~25 of them, each
 * otherwise a round trip), anything else one search each. Results are in the order of `criteria`.
 */
export async function findMatchingIdsOfMany(
  conformance: Conformance,
  repo: Repository,
  criteria: readonly MatchCriteria[],
  limit: number,
  access?: SearchAccess,
): Promise<string[][]> {
  // With confined access every criteria is its own search, narrowed like any other.
  const tokens = criteria.map((c) => (access ? undefined : asTokenCriteria(conformance.searchParameters, c)));
  const batched = tokens.flatMap((token, i) => (token ? [{ i, token }] : []));
  const results: string[][] = criteria.map(() => []);
  if (batched.length > 0) {
    const rows = await repo.sql.query<{ i: number; id: string }>(
      `SELECT DISTINCT k.i::int AS i, r.id
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS k(i, resource_type, code, system, value)
       JOIN sp_token d ON d.resource_type = k.resource_type AND d.code = k.code AND d.value = k.value AND d.system = k.system
       JOIN resource r ON r.resource_type = d.resource_type AND r.id = d.resource_id AND NOT r.deleted
       ORDER BY 1, 2`,
      [
        batched.map((b) => b.i),
        batched.map((b) => criteria[b.i].resourceType),
        batched.map((b) => b.token.code),
        batched.map((b) => b.token.system),
        batched.map((b) => b.token.value),
      ],
    );
    for (const row of rows) {
      if (results[row.i].length < limit) results[row.i].push(row.id);
    }
  }
  for (const [i, token] of tokens.entries()) {
    if (!token) results[i] = await findMatchingIds(conformance, repo, criteria[i].resourceType, criteria[i].query, limit, access);
  }
  return results;
}
