import type { AuthSettings } from '../config.ts';

/**
 * The SMART App Launch discovery document (https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html),
 * served at [base]/.well-known/smart-configuration without a token. By default it describes the
 * embedded authorization server (src/auth/server/, mounted beside the FHIR base at …/auth); with
 * AUTH_JWKS_URL or AUTH_TOKEN_URL an external authorization server issues the tokens and the
 * document points at its endpoints.
 */
export interface SmartConfiguration {
  readonly issuer?: string;
  readonly jwks_uri?: string;
  readonly authorization_endpoint?: string;
  readonly token_endpoint: string;
  readonly grant_types_supported: readonly string[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly token_endpoint_auth_signing_alg_values_supported?: readonly string[];
  readonly scopes_supported: readonly string[];
  readonly response_types_supported: readonly string[];
  readonly capabilities: readonly string[];
  readonly code_challenge_methods_supported: readonly string[];
  readonly introspection_endpoint?: string;
  readonly revocation_endpoint?: string;
  readonly management_endpoint?: string;
}

/** Whether kanplan issues the tokens itself (no external authorization server configured). */
export function isEmbeddedAuthorizationServer(auth: AuthSettings): boolean {
  return auth.mode === 'jwt' && !auth.jwksUrl && !auth.tokenUrl;
}

/** The embedded server's endpoints: a sibling of the FHIR base (…/fhir → …/auth). */
export function embeddedEndpoints(baseUrl: string): Record<'base' | 'authorize' | 'token' | 'jwks' | 'introspect' | 'revoke' | 'launch', string> {
  const base = baseUrl.replace(/\/+$/, '').replace(/\/[^/]*$/, '') + '/auth';
  return {
    base,
    authorize: `${base}/authorize`,
    token: `${base}/token`,
    jwks: `${base}/jwks`,
    introspect: `${base}/introspect`,
    revoke: `${base}/revoke`,
    launch: `${base}/launch`,
  };
}

const EMBEDDED_SCOPES = [
  'openid',
  'fhirUser',
  'launch',
  'launch/patient',
  'launch/encounter',
  'offline_access',
  'online_access',
  'patient/*.cruds',
  'patient/*.rs',
  'patient/*.read',
  'user/*.cruds',
  'user/*.rs',
  'user/*.read',
  'system/*.cruds',
  'system/*.rs',
  'system/*.read',
];

/** Capabilities of the embedded server (SMART App Launch 2.2, "Capabilities"). */
const EMBEDDED_CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'authorize-post',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'context-ehr-patient',
  'context-ehr-encounter',
  'context-standalone-patient',
  'context-banner',
  'context-style',
  'sso-openid-connect',
  'permission-offline',
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
];

function embedded(auth: AuthSettings, baseUrl: string): SmartConfiguration {
  const endpoints = embeddedEndpoints(baseUrl);
  return {
    issuer: auth.issuer,
    jwks_uri: endpoints.jwks,
    authorization_endpoint: endpoints.authorize,
    token_endpoint: endpoints.token,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    scopes_supported: EMBEDDED_SCOPES,
    response_types_supported: ['code'],
    capabilities: EMBEDDED_CAPABILITIES,
    code_challenge_methods_supported: ['S256'],
    introspection_endpoint: endpoints.introspect,
    revocation_endpoint: endpoints.revoke,
  };
}

/** What an external server's tokens may carry that the scope checks understand. */
const EXTERNAL_SCOPES = ['system/*.cruds', 'system/*.read', 'system/*.write', 'user/*.cruds', 'user/*.read', 'user/*.write'];

export function smartConfiguration(auth: AuthSettings, baseUrl: string): SmartConfiguration | undefined {
  if (auth.mode === 'off') {
    return undefined;
  }
  if (isEmbeddedAuthorizationServer(auth)) {
    return embedded(auth, baseUrl);
  }
  if (!auth.tokenUrl) {
    return undefined;
  }
  const userLaunch = auth.authorizeUrl !== undefined;
  return {
    issuer: auth.jwksUrl ? auth.issuer : undefined,
    jwks_uri: auth.jwksUrl,
    authorization_endpoint: auth.authorizeUrl,
    token_endpoint: auth.tokenUrl,
    // Backend services (client_credentials with a signed JWT) always; user launch only with an authorize endpoint.
    grant_types_supported: userLaunch ? ['authorization_code', 'client_credentials'] : ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    scopes_supported: EXTERNAL_SCOPES,
    response_types_supported: userLaunch ? ['code'] : [],
    capabilities: [
      'client-confidential-asymmetric',
      'permission-v1',
      'permission-v2',
      ...(userLaunch ? ['launch-standalone', 'client-public', 'permission-user'] : []),
    ],
    code_challenge_methods_supported: userLaunch ? ['S256'] : [],
    introspection_endpoint: auth.introspectUrl,
    revocation_endpoint: auth.revokeUrl,
  };
}

/**
 * The oauth-uris extension of CapabilityStatement.rest.security that SMART clients read
 * (https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html).
 */
export function oauthUrisExtension(auth: AuthSettings, baseUrl: string): { url: string; extension: { url: string; valueUri: string }[] } | undefined {
  const config = smartConfiguration(auth, baseUrl);
  if (!config) {
    return undefined;
  }
  const uris: [string, string | undefined][] = [
    ['authorize', config.authorization_endpoint],
    ['token', config.token_endpoint],
    ['revoke', config.revocation_endpoint],
    ['introspect', config.introspection_endpoint],
    ['manage', config.management_endpoint],
  ];
  return {
    url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
    extension: uris.filter((uri): uri is [string, string] => uri[1] !== undefined).map(([url, valueUri]) => ({ url, valueUri })),
  };
}
