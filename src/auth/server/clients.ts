import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from '../../store/database.ts';
import { deleteClient, findClient, hasRedirectUriAtOrigin, insertClient, listClients, type StoredClient } from '../../store/auth-registry.ts';
import { CONTEXT_SCOPES } from './smart-scopes.ts';

/**
 * SMART client types (https://hl7.org/fhir/smart-app-launch/STU2.2/client-authentication.html):
 * a public app (no secret; PKCE), a confidential app with a secret (client_secret_basic/post),
 * or a confidential client with keys (private_key_jwt: apps and Backend Services).
 */
export type ClientType = 'public' | 'confidential-symmetric' | 'confidential-asymmetric';

export interface ClientRegistration {
  readonly type: ClientType;
  readonly name: string;
  readonly clientId?: string;
  readonly redirectUris: readonly string[];
  /** Scopes the client may be granted; defaults by type. */
  readonly allowedScopes?: readonly string[];
  readonly jwks?: { keys: object[] };
  readonly jwksUri?: string;
}

export interface RegisteredClient {
  readonly clientId: string;
  readonly type: ClientType;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly allowedScopes: readonly string[];
  readonly jwksUri?: string;
  readonly createdAt: Date;
}

export class ClientRegistrationError extends Error {}

const USER_FACING = [...CONTEXT_SCOPES, 'patient/*.cruds', 'user/*.cruds'];

function defaultScopes(type: ClientType, redirectUris: readonly string[]): string[] {
  if (type !== 'confidential-asymmetric') return USER_FACING;
  return redirectUris.length ? [...USER_FACING, 'system/*.cruds'] : ['system/*.cruds'];
}

/** The OAuth client metadata oidc-provider reads (RFC 7591 names) for a registration. */
function metadataOf(clientId: string, registration: ClientRegistration, secret: string | undefined): Record<string, unknown> {
  const { type, redirectUris } = registration;
  const grantTypes = [...(redirectUris.length ? ['authorization_code', 'refresh_token'] : []), ...(type === 'confidential-asymmetric' ? ['client_credentials'] : [])];
  return {
    client_id: clientId,
    client_name: registration.name,
    kanplan_client_type: type,
    allowed_scope: (registration.allowedScopes ?? defaultScopes(type, redirectUris)).join(' '),
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: redirectUris.length ? ['code'] : [],
    token_endpoint_auth_method: { public: 'none', 'confidential-symmetric': 'client_secret_basic', 'confidential-asymmetric': 'private_key_jwt' }[type],
    ...(secret ? { client_secret: secret } : {}),
    ...(registration.jwks ? { jwks: registration.jwks } : {}),
    ...(registration.jwksUri ? { jwks_uri: registration.jwksUri } : {}),
  };
}

function registeredOf(stored: StoredClient): RegisteredClient {
  const metadata = stored.metadata;
  return {
    clientId: stored.clientId,
    type: metadata.kanplan_client_type as ClientType,
    name: String(metadata.client_name ?? stored.clientId),
    redirectUris: (metadata.redirect_uris as string[] | undefined) ?? [],
    allowedScopes: String(metadata.allowed_scope ?? '').split(' ').filter(Boolean),
    jwksUri: metadata.jwks_uri as string | undefined,
    createdAt: stored.createdAt,
  };
}

/** Registers a client; returns it with its secret (confidential-symmetric only, shown once). */
export async function registerClient(sql: SqlExecutor, registration: ClientRegistration): Promise<{ client: RegisteredClient; secret?: string }> {
  if (registration.type === 'confidential-asymmetric' && !registration.jwks === !registration.jwksUri) {
    throw new ClientRegistrationError('A confidential-asymmetric client needs its public keys: a JWKS file (--jwks-file) or a JWKS URL (--jwks-url), one of them.');
  }
  if (registration.type !== 'confidential-asymmetric' && registration.redirectUris.length === 0) {
    throw new ClientRegistrationError(`A ${registration.type} client signs users in through the browser: give at least one --redirect-uri.`);
  }
  for (const uri of registration.redirectUris) {
    if (!URL.canParse(uri) || new URL(uri).hash) throw new ClientRegistrationError(`Redirect URI ${uri} must be an absolute URL without a fragment.`);
  }
  const clientId = registration.clientId ?? `kanplan-${randomBytes(9).toString('base64url')}`;
  const secret = registration.type === 'confidential-symmetric' ? randomBytes(32).toString('base64url') : undefined;
  if (!(await insertClient(sql, clientId, metadataOf(clientId, registration, secret)))) {
    throw new ClientRegistrationError(`A client with id ${clientId} is registered already.`);
  }
  return { client: registeredOf((await findClient(sql, clientId)) as StoredClient), secret };
}

export async function listRegisteredClients(sql: SqlExecutor): Promise<RegisteredClient[]> {
  return (await listClients(sql)).map(registeredOf);
}

export async function findRegisteredClient(sql: SqlExecutor, clientId: string): Promise<RegisteredClient | undefined> {
  const stored = await findClient(sql, clientId);
  return stored && registeredOf(stored);
}

/** The stored metadata, as oidc-provider's Client model wants it. */
export async function clientMetadata(sql: SqlExecutor, clientId: string): Promise<Record<string, unknown> | undefined> {
  return (await findClient(sql, clientId))?.metadata;
}

export async function removeClient(sql: SqlExecutor, clientId: string): Promise<boolean> {
  return deleteClient(sql, clientId);
}

/**
 * Whether `origin` is the origin of a registered client's redirect URI: the browser apps that may
 * call the FHIR API and the token endpoint (CORS) unless CORS_ORIGINS says otherwise.
 */
export async function isRegisteredRedirectOrigin(sql: SqlExecutor, origin: string): Promise<boolean> {
  const parsed = URL.parse(origin);
  if (!parsed || parsed.origin === 'null' || parsed.origin !== origin) return false;
  return hasRedirectUriAtOrigin(sql, parsed.origin);
}
