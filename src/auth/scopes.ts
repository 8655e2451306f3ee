/**
 * SMART App Launch scopes (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html):
 * `<context>/<ResourceType|*>.<permissions>[?criteria]` with v2 permissions `c r u d s` (any
 * non-empty subset, in that order) and the v1 forms `read` (= rs), `write` (= cud) and `*` (= cruds).
 * Launch context and identity scopes (`launch`, `launch/patient`, `openid`, `fhirUser`,
 * `offline_access`, `online_access`) ask for context, not for resources: they grant nothing here.
 */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export type ScopeContext = 'system' | 'user' | 'patient';

export const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

export interface ScopeGrant {
  readonly context: ScopeContext;
  /** A resource type, or '*' for all. */
  readonly resourceType: string;
  readonly permissions: ReadonlySet<Permission>;
  /**
   * SMART v2 criteria (`patient/Observation.rs?category=laboratory`): the grant covers only the
   * resources that match this search query (without the leading `?`; several parameters joined
   * by `&` must all match). Checked against the type's search parameters where it is used: a
   * criterion that cannot be evaluated grants nothing.
   */
  readonly criteria?: string;
  /** The scope as the token carried it, for messages. */
  readonly text?: string;
}

const V1: Readonly<Record<string, readonly Permission[]>> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const SCOPE = /^(system|user|patient)\/([A-Z][A-Za-z]*|\*)\.([a-z*]+)(?:\?(.*))?$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;

/** One scope as a grant, or undefined when it grants no resource access (or is malformed). */
export function parseScope(scope: string): ScopeGrant | undefined {
  const match = SCOPE.exec(scope);
  if (!match) {
    return undefined;
  }
  const [, context, resourceType, access, query] = match;
  const v1 = V1[access];
  const permissions = v1 ?? (V2_PERMISSIONS.test(access) ? ([...access] as Permission[]) : undefined);
  if (!permissions?.length) {
    return undefined;
  }
  if (query !== undefined && (v1 !== undefined || query.trim() === '')) {
    // Criteria belong to the v2 syntax only (scopes-and-launch-context.html#finer-grained-resource-constraints-using-search-parameters);
    // a v1 scope with criteria, or an empty query, is malformed and grants nothing rather than everything.
    return undefined;
  }
  return {
    context: context as ScopeContext,
    resourceType,
    permissions: new Set(permissions),
    ...(query !== undefined ? { criteria: query } : {}),
    text: scope,
  };
}

export function parseScopes(scope: string | readonly string[] | undefined): ScopeGrant[] {
  const list = typeof scope === 'string' ? scope.split(/\s+/) : (scope ?? []);
  return list.map(parseScope).filter((grant): grant is ScopeGrant => grant !== undefined);
}

/** The search parameters of a grant's criteria as name/value pairs, decoded like a query string. */
export function criteriaPairs(criteria: string): [string, string][] {
  return [...new URLSearchParams(criteria)];
}
