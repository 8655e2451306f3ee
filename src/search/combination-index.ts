import type { Conformance } from '../conformance/conformance.ts';
import type { Database } from '../store/database.ts';
import type { Repository } from '../store/repository.ts';
import { COMPOSITE_KEY_TYPES, type SearchParamDef } from '../conformance/search-parameter-definition.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { anyOf } from './condition-target.ts';
import { parseReference } from './references.ts';
import { splitUnescaped, type SqlBuilder } from './sql.ts';
import { impliedSystemOf } from './token-terminology.ts';
import { datePredicate } from './value-conditions.ts';

/**
 * Combination indexes: composite SearchParameters marked as HAPI FHIR's non-unique "combo"
 * parameters (conformance/search-parameter-definition.ts COMBINATION_INDEX_EXTENSION). Their rows in sp_composite hold the
 * '$'-joined values of several parameters of one resource, so `Task?owner=X&status=requested`
 * reads the rows of one key instead of every Task of the owner, each probed for its status
 * (bench/RESULTS-search.md). Only exact values qualify: a parameter whose value can match more
 * than the one key (a modifier, an OR list, `system|`, a bare id of a multi-type reference) is
 * answered by its own index table as before, and so is every search on a type whose rows are
 * not all indexed with the current parameters yet (see combinationIndexesCurrent).
 *
 * A combination may end in a date component (Observation patient-category-date): its rows carry
 * the resource's dates in their range columns, so a date parameter besides the keys is answered
 * on the same rows (any prefix, an OR list) instead of by a probe per candidate. The date is
 * optional there: a resource without one has a row with an empty range (composite-rows.ts), so
 * the combination answers its keys alone as well.
 */

/** A combination that answers some of a search's parameters with one key. */
export interface CombinationMatch {
  /** The combination parameter's code (sp_composite.code). */
  readonly code: string;
  /** The component keys joined by '$', as composite-rows.ts writes them. */
  readonly key: string;
  /** Positions in the filter list of the parameters it answers. */
  readonly covered: ReadonlySet<number>;
  /** The date parameter answered on the rows' range columns, when the combination ends in one and it is given. */
  readonly range?: { readonly name: string; readonly value: string };
}

interface UsableCombination {
  readonly def: SearchParamDef;
  /** The key components' parameters, in key order. */
  readonly keys: SearchParamDef[];
  /** The final date component's parameter, if the combination ends in one. */
  readonly range?: SearchParamDef;
}

const usableCache = new WeakMap<ReadonlyMap<string, SearchParamDef>, UsableCombination[]>();

const isKey = (c: SearchParamDef | undefined): c is SearchParamDef => c !== undefined && COMPOSITE_KEY_TYPES.has(c.type) && c.type !== 'string';

/**
 * The combination parameters of a type whose components are key (token, reference, uri)
 * parameters, at least two, with at most a final date.
 */
function combinationsOf(parameters: SearchParameterRegistry, resourceType: string): UsableCombination[] {
  const params = parameters.paramsOf(resourceType);
  let found = usableCache.get(params);
  if (!found) {
    found = [];
    for (const def of params.values()) {
      if (!def.combination) {
        continue;
      }
      const components = def.components.map((c) => parameters.paramByUrl(resourceType, c.definition));
      const last = components.at(-1);
      const range = last?.type === 'date' ? last : undefined;
      const keys = range ? components.slice(0, -1) : components;
      if (keys.length >= 2 && keys.every(isKey)) {
        found.push({ def, keys, range });
      }
    }
    usableCache.set(params, found);
  }
  return found;
}

function hasCombinations(parameters: SearchParameterRegistry, resourceType: string): boolean {
  return combinationsOf(parameters, resourceType).length > 0;
}

/**
 * The key one exact parameter value has in a combination row, or undefined when the value can
 * match other rows too. Token: `code`, `system|code` or `|code` (the forms composite-rows.ts
 * componentKeys writes); reference: `Type/id`, an id when the parameter has one target type,
 * or a URL; uri: the value.
 */
function componentKey(conformance: Conformance, def: SearchParamDef, raw: string, baseUrl: string): string | undefined {
  // Escapes, OR lists and '$' (the key separator) are left to the parameter's own table.
  if (raw === '' || /[\\,$]/.test(raw)) {
    return undefined;
  }
  switch (def.type) {
    case 'token': {
      const parts = splitUnescaped(raw, '|');
      if (parts.length > 2 || (parts.length === 2 && parts[1] === '')) {
        return undefined;
      }
      // A `code` element's row has no system; its implied one (token-terminology.ts) names it too.
      return parts.length === 2 && parts[0] !== '' && parts[0] === impliedSystemOf(conformance, def) ? `|${parts[1]}` : raw;
    }
    case 'reference': {
      if (!raw.includes('/') && !raw.includes(':')) {
        return def.targets.length === 1 ? `${def.targets[0]}/${raw}` : undefined;
      }
      // An absolute URL on this server's base is the local reference, as the index holds it.
      const parsed = parseReference(raw, baseUrl);
      // A versioned canonical has a row of its own (index-rows.ts referenceRowsOf).
      return parsed.targetType ? `${parsed.targetType}/${parsed.targetId}` : raw.includes('|') ? raw : (parsed.url ?? undefined);
    }
    case 'uri':
      return raw;
    default:
      return undefined;
  }
}

/**
 * The combination of a type that answers the most of `filters` (name = plain parameter code,
 * one exact value each), or undefined. A parameter repeated (AND) is answered once here and its
 * other occurrences by their own tables.
 */
export function chooseCombination(
  conformance: Conformance,
  resourceType: string,
  filters: readonly (readonly [string, string])[],
  baseUrl: string,
): CombinationMatch | undefined {
  let best: CombinationMatch | undefined;
  for (const { def, keys: components, range } of combinationsOf(conformance.searchParameters, resourceType)) {
    const covered = new Set<number>();
    const keys: string[] = [];
    for (const component of components) {
      const at = filters.findIndex(([name], i) => name === component.code && !covered.has(i));
      const key = at < 0 ? undefined : componentKey(conformance, component, filters[at][1], baseUrl);
      if (key === undefined) {
        break;
      }
      covered.add(at);
      keys.push(key);
    }
    if (keys.length !== components.length) {
      continue;
    }
    // The date as the plain parameter (no modifier); a value that is not a date is rejected where
    // the predicate is built, an empty one (or an empty item of a list) by the date's own table.
    const dateAt = range ? filters.findIndex(([name, value], i) => name === range.code && !covered.has(i) && splitUnescaped(value, ',').every((v) => v !== '')) : -1;
    if (dateAt >= 0) {
      covered.add(dateAt);
    }
    if (!best || covered.size > best.covered.size) {
      const [name, value] = dateAt >= 0 ? filters[dateAt] : [];
      best = { code: def.code, key: keys.join('$'), covered, ...(name !== undefined && value !== undefined ? { range: { name, value } } : {}) };
    }
  }
  return best;
}

/**
 * The condition on a combination's rows (alias `$ALIAS`) that a match selects: its key, and the
 * date parameter's prefixes on the range columns as the date's own table compares them
 * (indexed-conditions.ts; https://hl7.org/fhir/R4/search.html#date). Rows with an empty range
 * match no date.
 */
export function combinationPredicate(q: SqlBuilder, match: CombinationMatch): string {
  const key = `$ALIAS.value = ${q.bind(match.key)}`;
  if (!match.range) {
    return key;
  }
  const { name, value } = match.range;
  const values = splitUnescaped(value, ',');
  const dates = anyOf(values, (v) => datePredicate(q, { low: '$ALIAS.low', high: '$ALIAS.high', instant: false }, name, v));
  return `${key} AND (${dates})`;
}

/** Per database: whether every current resource of a type is indexed with the current parameters. */
const currentByDatabase = new WeakMap<Database, Map<string, { current: boolean; checkedAt: number }>>();
/** How long a "not yet" answer holds before it is asked again (a reindex may be running). */
const RECHECK_MS = 10_000;

/**
 * Whether searches of `resourceType` may use its combination indexes: only when no current
 * resource of the type still carries index rows from another parameter set (a combination added
 * to a database that holds data has rows only after `kanplan reindex`; until then its searches
 * would miss those resources). Once true it stays true for this process and parameter set: this
 * server writes every version with the current parameters. A server of an older version writing
 * to the same database (a rolling upgrade) is the exception docs/search.md "Combination indexes" names.
 */
export async function combinationIndexesCurrent(parameters: SearchParameterRegistry, repo: Repository, resourceType: string): Promise<boolean> {
  if (!hasCombinations(parameters, resourceType)) {
    return false;
  }
  let perType = currentByDatabase.get(repo.db);
  if (!perType) {
    perType = new Map();
    currentByDatabase.set(repo.db, perType);
  }
  const fingerprint = parameters.fingerprint;
  const cacheKey = `${fingerprint}\t${resourceType}`;
  const known = perType.get(cacheKey);
  if (known && (known.current || Date.now() - known.checkedAt < RECHECK_MS)) {
    return known.current;
  }
  // Two ranges instead of `<>` so the resource_index_hash index can answer.
  const stale = await repo.sql.query(
    `SELECT 1 FROM resource WHERE resource_type = $1 AND NOT deleted AND (index_hash IS NULL OR index_hash < $2 OR index_hash > $2) LIMIT 1`,
    [resourceType, fingerprint],
  );
  const current = stale.length === 0;
  perType.set(cacheKey, { current, checkedAt: Date.now() });
  return current;
}

/** Forgets what combinationIndexesCurrent learned about a database (a reindex just finished). */
export function forgetCombinationIndexState(db: Database): void {
  currentByDatabase.delete(db);
}
