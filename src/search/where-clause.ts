import type { Conformance } from '../conformance/conformance.ts';
import { chooseCombination, combinationPredicate } from './combination-index.ts';
import { compartmentClause } from './compartments.ts';
import type { ConditionContext, SearchTarget } from './condition-target.ts';
import { accessClause, buildCondition } from './conditions.ts';
import { drivingCondition, namesPatients, type IndexedCondition } from './indexed-conditions.ts';
import type { SearchInput } from './search-request.ts';
import { SqlBuilder } from './sql.ts';

/** Ids strictly after (or before) `id`: the keyset of a later page of one type without `_sort`. */
export interface IdBound {
  readonly id: string;
  readonly after: boolean;
}

/**
 * A search's condition over `resource r`, split where the query is driven from an index: the
 * candidate ids (`SELECT d.resource_id FROM <index> d WHERE ...`, every indexed parameter in it)
 * and the conditions on `r` itself. `alone`: the outer conditions are only the type and
 * `NOT r.deleted`, so the candidates are exactly the matches (page-query.ts pages them by id).
 */
export interface SearchConditions {
  readonly outer: readonly string[];
  readonly candidates?: string;
  readonly alone: boolean;
}

/**
 * The WHERE condition over `resource r` for the filters. `useCombinations`: a search of one
 * type whose combination indexes are current (planSearch) and may drive the query. `idBound`:
 * the page continues after an id, which the candidate subquery applies too (page-query.ts).
 */
export function whereClause(
  conformance: Conformance,
  q: SqlBuilder,
  input: SearchInput,
  target: SearchTarget,
  filters: readonly (readonly [string, string])[],
  useCombinations = false,
  idBound?: IdBound,
): string {
  return conditionText(searchConditions(conformance, q, input, target, filters, useCombinations, idBound));
}

/** The conditions as one WHERE condition over `resource r`. */
export function conditionText({ outer, candidates }: SearchConditions): string {
  // OFFSET 0 keeps the candidate subquery from being flattened into a semi-join. Flattened,
  // PostgreSQL misjudges how few rows it yields and may instead walk every resource of the type in
  // primary-key order to skip the sort (30,000 CarePlans read for 3 matches, 20-30 ms instead of
  // 0.3 ms; see bench/RESULTS-search.md). Kept apart, it is planned on its own row estimate.
  return [...outer, ...(candidates ? [`r.id IN (${candidates} OFFSET 0)`] : [])].join(' AND ');
}

/** whereClause in its parts (see SearchConditions). */
export function searchConditions(
  conformance: Conformance,
  q: SqlBuilder,
  input: SearchInput,
  target: SearchTarget,
  filters: readonly (readonly [string, string])[],
  useCombinations = false,
  idBound?: IdBound,
): SearchConditions {
  const ctx: ConditionContext = { q, baseUrl: input.baseUrl, conformance, access: input.access };
  const types = target.resourceTypes;
  const conditions = ['NOT r.deleted'];
  // One parameter for the type, used by the candidate subquery too (a count of the candidates alone still uses it).
  const typeParam = types.length === 1 ? q.bind(types[0]) : undefined;
  if (typeParam) {
    conditions.unshift(`r.resource_type = ${typeParam}`);
  } else if (types.length < conformance.resourceTypes.list().length) {
    conditions.unshift(`r.resource_type = ANY(${q.bind(types)}::text[])`);
  }
  // Every type asked for (system search without _type): no type condition, which is true of every
  // row anyway. PostgreSQL before 17 cannot use `resource_type = ANY(...)` to page in primary-key
  // order; the export of a 550,000-resource data set once sorted every page with it (0.7 s a page).
  if (input.compartment) {
    conditions.push(compartmentClause(ctx, target, input.compartment));
  }
  // SMART confinement (patient compartments, v2 criteria) in the statement itself, so paging and
  // totals count only what the caller may see (src/auth/access-policy.ts decides it).
  const granted = accessClause(ctx, target, 's');
  if (granted !== undefined) {
    conditions.push(granted);
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
  const combination = useCombinations ? chooseCombination(conformance, types[0], indexed, input.baseUrl) : undefined;
  const probeCtx: ConditionContext = { q: new SqlBuilder(), baseUrl: input.baseUrl, conformance };
  // A reference to specific Patients drives whenever one is given; otherwise the first plain parameter.
  const patientIndex = types.length === 1 ? indexed.findIndex(([name, value]) => namesPatients(probeCtx, probe, name, value)) : -1;
  const driverIndex = types.length === 1 && !combination
    ? patientIndex >= 0 ? patientIndex : indexed.findIndex(([name, value]) => drivingCondition(probeCtx, probe, name, value) !== undefined)
    : -1;
  // Driven from one person's rows (their reference rows, or a combination key that includes the
  // person, like Observation patient-category-date), the other parameters probe each candidate.
  const personDriven = patientIndex >= 0 && (!combination || combination.covered.has(patientIndex));
  // Nothing but the type and `NOT r.deleted` on r: index rows exist only for current resources
  // (index-writer.ts replaces them in the statement that writes each version, a delete leaves none).
  const alone = types.length === 1 && !input.compartment && granted === undefined && indexed.length === filters.length;
  if (!combination && driverIndex < 0) {
    for (const [name, value] of indexed) {
      conditions.push(buildCondition(ctx, target, name, value));
    }
    return { outer: conditions, alone: false };
  }
  // Driven from one person's rows, the other parameters are probes of each candidate (never a
  // join driven by their values: a token most rows share, like category=laboratory, would then
  // be read once per candidate; bench/RESULTS-search.md, issue 23).
  const inner: SearchTarget = { resourceTypes: types, typeExpr: `${typeParam ?? q.bind(types[0])}::text`, idExpr: 'd.resource_id', probe: personDriven };
  const driven = (i: number): boolean => (combination ? combination.covered.has(i) : i === driverIndex);
  const driver: IndexedCondition = combination
    ? { table: 'sp_composite', code: combination.code, predicate: combinationPredicate(q, combination), negate: false }
    : (drivingCondition(ctx, inner, ...indexed[driverIndex]) as IndexedCondition);
  const innerConditions = [`d.resource_type = ${inner.typeExpr}`, `d.code = ${q.bind(driver.code)}`];
  if (driver.predicate) {
    innerConditions.push(`(${driver.predicate.replaceAll('$ALIAS', 'd')})`);
  }
  if (idBound) {
    // A later page starts after the cursor's id: candidates before it are not probed at all.
    innerConditions.push(`d.resource_id ${idBound.after ? '>' : '<'} ${q.bind(idBound.id)}::text`);
  }
  indexed.forEach(([name, value], i) => {
    if (!driven(i)) {
      innerConditions.push(buildCondition(ctx, inner, name, value));
    }
  });
  return { outer: conditions, candidates: `SELECT d.resource_id FROM ${driver.table} d WHERE ${innerConditions.join(' AND ')}`, alone };
}
