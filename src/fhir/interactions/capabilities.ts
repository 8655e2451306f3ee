import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
  CapabilityStatementRestSecurity,
} from '@medplum/fhirtypes';
import { oauthUrisExtension } from '../../auth/smart-configuration.ts';
import { listResourceTypes } from '../../conformance/base-definitions.ts';
import type { FhirContext } from '../context.ts';
import { BACKPORT } from '../subscriptions/subscription-spec.ts';
import { shippedTopics } from '../subscriptions/topics.ts';
import type { FhirOperation } from '../operations/operation.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';

export const SOFTWARE_VERSION = '0.1.0';

// Per server configuration: base URL and authorization settings shape the statement.
const statements = new WeakMap<FhirContext['config'], CapabilityStatement>();

function operationEntry(ctx: FhirContext, operation: FhirOperation): CapabilityStatementRestResourceOperation {
  return {
    name: operation.definition.code,
    definition: operation.definition.url ?? `${ctx.config.baseUrl}/OperationDefinition/${operation.definition.id}`,
    documentation: operation.definition.description,
  };
}

function resourceEntry(ctx: FhirContext, type: string): CapabilityStatementRestResource {
  const supportedProfile = [...ctx.profiles].filter(([, profiled]) => profiled === type).map(([url]) => url);
  // Subscriptions follow the Backport IG (http://hl7.org/fhir/uv/subscriptions-backport/conformance.html).
  if (type === 'Subscription') supportedProfile.push(`${BACKPORT}/backport-subscription`);
  return {
    type: type as CapabilityStatementRestResource['type'],
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    supportedProfile: supportedProfile.length ? supportedProfile : undefined,
    interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map(
      (code) => ({ code: code as 'read' }),
    ),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'full-support',
    conditionalUpdate: true,
    conditionalDelete: 'single',
    referencePolicy: ['literal', 'logical', 'local'],
    searchInclude: ['*'],
    searchRevInclude: ['*'],
    searchParam: ctx.search.describeSearchParameters(type).map((param) => ({
      name: param.name,
      type: param.type as 'token',
      definition: param.definition,
      documentation: param.documentation,
    })),
    operation: ctx.operations
      .filter((op) => (op.definition.type || op.definition.instance) && op.definition.resource?.includes(type as never))
      .map((op) => operationEntry(ctx, op)),
  };
}

/**
 * rest.security as it is: SMART-on-FHIR with its oauth-uris only when an authorization server is
 * configured (https://hl7.org/fhir/smart-app-launch/STU2/conformance.html); otherwise bearer JWTs
 * from the local key (`kanplan token`), which is OAuth 2.0 bearer-token use (RFC 6750) without discovery.
 */
function securityOf(ctx: FhirContext): CapabilityStatementRestSecurity {
  const auth = ctx.config.auth;
  if (auth.mode === 'off') {
    return { description: 'Authorization is disabled on this server (AUTH_MODE=off).' };
  }
  const oauthUris = oauthUrisExtension(auth, ctx.config.baseUrl);
  const scopes = 'Every interaction except this CapabilityStatement and SMART discovery needs a bearer access token (JWT) with SMART App Launch scopes: system/ or user/, with v1 (read, write, *) or v2 (cruds) permissions.';
  return oauthUris
    ? {
        extension: [oauthUris],
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        description: `${scopes} Tokens come from the authorization server in .well-known/smart-configuration (built in at …/auth unless an external one is configured).`,
      }
    : {
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' }] }],
        description: `${scopes} Tokens are signed with this server's key and issued by \`kanplan token\`; no OAuth authorization server is configured (AUTH_TOKEN_URL), so there is no SMART discovery.`,
      };
}

/**
 * The CapabilityStatement, generated from what the server really does: the interactions the
 * router implements, the search parameters the search engine indexes, the registered
 * operations and the loaded Kansas profiles (https://hl7.org/fhir/R4/capabilitystatement.html).
 */
export function buildCapabilityStatement(ctx: FhirContext): CapabilityStatement {
  const cached = statements.get(ctx.config);
  if (cached) {
    return cached;
  }
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'kanplan',
    kind: 'instance',
    software: { name: 'kanplan', version: SOFTWARE_VERSION },
    implementation: {
      description: 'kanplan FHIR R4 server for Kansas LTSS care plans (PCSP, BSP, ISP)',
      url: ctx.config.baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        // The SubscriptionTopics this server ships (profiles/topics/), as R4 servers advertise them
        // (http://hl7.org/fhir/uv/subscriptions-backport/components.html#subscriptiontopic).
        extension: shippedTopics().map((topic) => ({ url: `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`, valueCanonical: topic.url })),
        security: securityOf(ctx),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }, { code: 'history-system' }],
        // Result parameters every type-level search takes (https://hl7.org/fhir/R4/search.html#contained).
        searchParam: [
          {
            name: '_contained',
            type: 'token',
            documentation:
              'false (default): top-level resources only; true: resources contained in others (Resource.contained), matched by their own type\'s parameters; both: either. One resource type per search; not with _sort, _lastUpdated or _has.',
          },
          {
            name: '_containedType',
            type: 'token',
            documentation:
              'container (default): a contained match is returned as its containing resource; contained: as the contained resource itself, fullUrl [base]/[ContainerType]/[id]#[contained id] (no _include/_revinclude).',
          },
        ],
        resource: listResourceTypes().map((type) => resourceEntry(ctx, type)),
        operation: ctx.operations.filter((op) => op.definition.system).map((op) => operationEntry(ctx, op)),
      },
    ],
  };
  statements.set(ctx.config, statement);
  return statement;
}

export async function handleCapabilities(ctx: FhirContext, _request: FhirRequest): Promise<FhirResponse> {
  return { status: 200, resource: buildCapabilityStatement(ctx) };
}
