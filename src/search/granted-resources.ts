import type { Resource } from '@medplum/fhirtypes';
import type { Conformance } from '../conformance/conformance.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import type { Repository, ResourceKey } from '../store/repository.ts';
import { accessClause } from './conditions.ts';
import { extractIndexRows } from './extract.ts';
import type { IndexRows } from './index-rows.ts';
import type { AccessPermission, GrantReach, SearchAccess } from './search-request.ts';
import { splitUnescaped, unescapeValue } from './sql.ts';
import { SqlBuilder } from './sql.ts';

/**
 * The keys among `keys` whose current version the caller's access reaches for `permission`, in
 * one indexed query (a confined read, vread, history page or operation instance); every key when
 * nothing is confined, without a query. Deleted resources have no index rows, so a confined
 * caller reaches none of them.
 */
export async function grantedResources(
  conformance: Conformance,
  repo: Repository,
  keys: readonly ResourceKey[],
  access: SearchAccess,
  permission: AccessPermission,
): Promise<Set<string>> {
  const all = new Set(keys.map((key) => `${key.resourceType}/${key.id}`));
  const types = [...new Set(keys.map((key) => key.resourceType))];
  const q = new SqlBuilder();
  const clause = accessClause({ q, baseUrl: '', conformance, access }, { resourceTypes: types, typeExpr: 'r.resource_type', idExpr: 'r.id', row: 'r' }, permission);
  if (clause === undefined || keys.length === 0) {
    return all;
  }
  const where =
    keys.length === 1
      ? `r.resource_type = ${q.bind(keys[0].resourceType)} AND r.id = ${q.bind(keys[0].id)}`
      : `(r.resource_type, r.id) IN (SELECT * FROM unnest(${q.bind(keys.map((k) => k.resourceType))}::text[], ${q.bind(keys.map((k) => k.id))}::text[]))`;
  const rows = await repo.sql.query<{ resource_type: string; id: string }>(`SELECT r.resource_type, r.id FROM resource r WHERE ${where} AND NOT r.deleted AND ${clause}`, q.params);
  return new Set(rows.map((row) => `${row.resource_type}/${row.id}`));
}

/**
 * Whether a grant reaches a resource judged on its content, as a write is (its next version is not
 * indexed yet): in one of the grant's Patient compartments by the compartment parameters'
 * references, and matching its criteria. Criteria are judged for token parameters (`code`,
 * `system|code`, `|code`, `system|`, and with `:not`) and plain references; anything else is undefined — the caller
 * treats that as not reached, so a write never passes on criteria it could not check.
 */
export function reachesResource(parameters: SearchParameterRegistry, resource: Resource, reach: GrantReach, baseUrl?: string): boolean | undefined {
  const rows = extractIndexRows(parameters, resource, { baseUrl });
  if (reach.patients !== undefined && !inCompartment(parameters, resource, rows, reach.patients)) {
    return false;
  }
  if (reach.criteria === undefined) {
    return true;
  }
  let judged: boolean | undefined = true;
  for (const [name, value] of new URLSearchParams(reach.criteria)) {
    const [code, modifier] = name.split(':', 2) as [string, string?];
    const def = code.includes('.') || (modifier !== undefined && modifier !== 'not') ? undefined : parameters.param(resource.resourceType, code);
    const values = splitUnescaped(value, ',').map(unescapeValue);
    if (def?.type === 'token') {
      // :not (R4 search.html#token): no value matches, an absent element included — the role rules'
      // `_security:not=…|R` narrowing of Task reads, judged here for subscription matching too.
      const matched = values.some((v) => tokenMatches(rows, def.code, v));
      if (modifier === 'not' ? matched : !matched) return false;
    } else if (def?.type === 'reference' && modifier === undefined) {
      if (!values.some((v) => referenceMatches(rows, def.code, v))) return false;
    } else {
      judged = undefined;
    }
  }
  return judged;
}

function inCompartment(parameters: SearchParameterRegistry, resource: Resource, rows: IndexRows, patients: readonly string[]): boolean {
  if (resource.resourceType === 'Patient' && resource.id !== undefined && patients.includes(resource.id)) {
    return true;
  }
  const params = parameters.compartmentParams('Patient', resource.resourceType) ?? [];
  return rows.reference.some(([code, targetType, targetId]) => params.includes(code) && targetType === 'Patient' && targetId !== null && patients.includes(targetId));
}

function tokenMatches(rows: IndexRows, code: string, value: string): boolean {
  const bar = value.indexOf('|');
  const system = bar < 0 ? undefined : value.slice(0, bar);
  const wanted = bar < 0 ? value : value.slice(bar + 1);
  return rows.token.some(
    ([c, s, v]) => c === code && (system === undefined || (system === '' ? s === null : s === system)) && (wanted === '' || v === wanted),
  );
}

function referenceMatches(rows: IndexRows, code: string, value: string): boolean {
  const [type, id] = value.includes('/') ? value.split('/') : [undefined, value];
  return rows.reference.some(([c, t, i]) => c === code && i === id && (type === undefined || t === type));
}
