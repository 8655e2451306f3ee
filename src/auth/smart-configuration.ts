import type { AuthSettings } from '../config.ts';

/**
 * The SMART App Launch discovery document (https://hl7.org/fhir/smart-app-launch/STU2/conformance.html),
 * served at [base]/.well-known/smart-configuration without a token. kanplan is a resource server:
 * it verifies tokens but does not issue them through OAuth, so the document exists only when an
 * external authorization server's endpoints are configured (AUTH_TOKEN_URL, AUTH_AUTHORIZE_URL).
 */
export interface SmartConfiguration {
  readonly issuer?: string;
  readonly jwks_uri?: string;
  readonly authorization_endpoint?: string;
  readonly token_endpoint: string;
  readonly grant_types_supported: readonly string[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly scopes_supported: readonly string[];
  readonly response_types_supported: readonly string[];
  readonly capabilities: readonly string[];
  readonly code_challenge_methods_supported: readonly string[];
}

/** What the scope checks of src/auth/scopes.ts understand (patient/ and scopes with criteria are not enforced). */
const SCOPES_SUPPORTED = ['system/*.cruds', 'system/*.read', 'system/*.write', 'user/*.cruds', 'user/*.read', 'user/*.write'];

export function smartConfiguration(auth: AuthSettings): SmartConfiguration | undefined {
  if (auth.mode === 'off' || !auth.tokenUrl) {
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
    scopes_supported: SCOPES_SUPPORTED,
    response_types_supported: userLaunch ? ['code'] : [],
    capabilities: [
      'client-confidential-asymmetric',
      'permission-v1',
      'permission-v2',
      ...(userLaunch ? ['launch-standalone', 'client-public', 'permission-user'] : []),
    ],
    code_challenge_methods_supported: userLaunch ? ['S256'] : [],
  };
}

/**
 * The oauth-uris extension of CapabilityStatement.rest.security that SMART clients read
 * (https://hl7.org/fhir/smart-app-launch/STU2/conformance.html#using-cors).
 */
export function oauthUrisExtension(auth: AuthSettings): { url: string; extension: { url: string; valueUri: string }[] } | undefined {
  const config = smartConfiguration(auth);
  if (!config) {
    return undefined;
  }
  return {
    url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
    extension: [
      { url: 'token', valueUri: config.token_endpoint },
      ...(config.authorization_endpoint ? [{ url: 'authorize', valueUri: config.authorization_endpoint }] : []),
    ],
  };
}
