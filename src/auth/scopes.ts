/**
 * SMART App Launch scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * `<context>/<ResourceType|*>.<permissions>` with v2 permissions `c r u d s` (any subset, in that
 * order) and the v1 forms `read` (= rs), `write` (= cud) and `*` (= cruds).
 */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export type ScopeContext = 'system' | 'user' | 'patient';

export interface ScopeGrant {
  readonly context: ScopeContext;
  /** A resource type, or '*' for all. */
  readonly resourceType: string;
  readonly permissions: ReadonlySet<Permission>;
  /**
   * SMART v2 criteria (`patient/Observation.rs?category=laboratory`): the grant covers only the
   * resources that match this search query (without the leading `?`).
   */
  readonly criteria?: string;
}

const V1: Record<string, Permission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const SCOPE = /^(system|user|patient)\/([A-Za-z]+|\*)\.([a-z*]+)(\?.*)?$/;

export function parseScope(scope: string): ScopeGrant | undefined {
  const match = SCOPE.exec(scope);
  if (!match) {
    return undefined;
  }
  const [, context, resourceType, access, query] = match;
  if (query) {
    // Granular v2 scopes with search criteria are not enforced yet; ignoring them grants nothing.
    return undefined;
  }
  const permissions = V1[access] ?? (/^c?r?u?d?s?$/.test(access) ? ([...access] as Permission[]) : undefined);
  return permissions?.length ? { context: context as ScopeContext, resourceType, permissions: new Set(permissions) } : undefined;
}

export function parseScopes(scope: string | readonly string[] | undefined): ScopeGrant[] {
  const list = typeof scope === 'string' ? scope.split(/\s+/) : (scope ?? []);
  return list.map(parseScope).filter((grant): grant is ScopeGrant => grant !== undefined);
}

export function grants(scopes: readonly ScopeGrant[], resourceType: string, permission: Permission): boolean {
  return scopes.some(
    (grant) => grant.context !== 'patient' && (grant.resourceType === '*' || grant.resourceType === resourceType) && grant.permissions.has(permission),
  );
}
