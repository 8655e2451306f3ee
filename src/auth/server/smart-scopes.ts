import { parseScope, type ScopeGrant } from '../scopes.ts';

/**
 * The scope vocabulary of the embedded server (SMART App Launch 2.2, "Scopes and Launch Context":
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html).
 */
export const CONTEXT_SCOPES = ['openid', 'fhirUser', 'launch', 'launch/patient', 'launch/encounter', 'offline_access', 'online_access'] as const;

const CONTEXT_SCOPE_SET: ReadonlySet<string> = new Set(CONTEXT_SCOPES);

export function isContextScope(scope: string): boolean {
  return CONTEXT_SCOPE_SET.has(scope);
}

/** Whether `scope` is written like a resource scope (`patient/…`, `user/…`, `system/…`). */
export function looksLikeResourceScope(scope: string): boolean {
  return /^(patient|user|system)\//.test(scope);
}

/**
 * The grant a resource scope stands for, v2 criteria included (`patient/Observation.rs?category=…`);
 * undefined when the scope is malformed. The same parser the FHIR API enforces with.
 */
export function resourceScopeGrant(scope: string): ScopeGrant | undefined {
  return parseScope(scope);
}

/** Whether `requested` asks for nothing more than `allowed` grants. */
function covers(allowed: ScopeGrant, requested: ScopeGrant): boolean {
  return (
    allowed.context === requested.context &&
    (allowed.resourceType === '*' || allowed.resourceType === requested.resourceType) &&
    [...requested.permissions].every((permission) => allowed.permissions.has(permission)) &&
    (allowed.criteria === undefined || allowed.criteria === requested.criteria)
  );
}

/** Whether a client registered with `allowedScopes` may be given `scope`. */
export function isWithinAllowed(scope: string, allowedScopes: readonly string[]): boolean {
  if (isContextScope(scope)) return allowedScopes.includes(scope);
  const requested = resourceScopeGrant(scope);
  if (!requested) return false;
  return allowedScopes.some((allowed) => {
    const grant = looksLikeResourceScope(allowed) ? resourceScopeGrant(allowed) : undefined;
    return grant !== undefined && covers(grant, requested);
  });
}

export class ScopeRefusal extends Error {
  readonly scope: string;
  constructor(message: string, scope: string) {
    super(message);
    this.scope = scope;
  }
}

/**
 * The scopes of a request that the server deals in, checked against the client's allowed
 * scopes: context and resource scopes are kept, others (e.g. `profile`) are left to the OpenID
 * layer. A malformed resource scope, or one beyond what the client may have, is refused.
 */
export function checkRequestedScopes(requested: readonly string[], allowedScopes: readonly string[], options: { systemOnly: boolean }): string[] {
  const kept: string[] = [];
  for (const scope of requested) {
    if (!isContextScope(scope) && !looksLikeResourceScope(scope)) continue;
    if (looksLikeResourceScope(scope) && !resourceScopeGrant(scope)) {
      throw new ScopeRefusal(`${scope} is not a valid SMART scope (expected e.g. patient/Observation.rs or system/*.read).`, scope);
    }
    if (options.systemOnly && !scope.startsWith('system/')) {
      throw new ScopeRefusal(`${scope} cannot be granted to a client acting on its own (client_credentials): Backend Services grant system/ scopes only.`, scope);
    }
    if (!isWithinAllowed(scope, allowedScopes)) {
      throw new ScopeRefusal(`${scope} is beyond the scopes this client is registered for.`, scope);
    }
    kept.push(scope);
  }
  return kept;
}

const VERBS: Record<string, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

/** A scope in plain words for the consent page. */
export function describeScope(scope: string): string {
  const context: Record<string, string> = {
    openid: 'Confirm who you are to the app',
    fhirUser: 'Tell the app which record you are (your practitioner, related person or patient record)',
    launch: 'Open with the patient chosen in your record system',
    'launch/patient': 'Know which patient you choose',
    'launch/encounter': 'Know which encounter you choose',
    offline_access: 'Keep access after you close the app, until you revoke it',
    online_access: 'Keep access while you are signed in',
  };
  if (context[scope]) return context[scope];
  const grant = resourceScopeGrant(scope);
  if (!grant) return scope;
  const verbs = [...grant.permissions].map((permission) => VERBS[permission]);
  const what = grant.resourceType === '*' ? 'all kinds of records' : `${grant.resourceType} records`;
  const whose = { patient: "of the selected patient", user: 'you are allowed to see', system: 'on the whole server' }[grant.context];
  return `${verbs.join(', ').replace(/, ([^,]*)$/, ' and $1')} ${what} ${whose}${grant.criteria ? ` (only those matching ${grant.criteria})` : ''}`.replace(/^./, (c) => c.toUpperCase());
}
