import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle, Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../auth/access.ts';
import { OAUTH_CLIENT_SYSTEM } from '../writes/provenance.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';

/**
 * One AuditEvent per FHIR request, in the shapes of IHE Basic Audit Log Patterns
 * (https://profiles.ihe.net/ITI/BALP/): type `rest`, the RESTful interaction as subtype, the action
 * (C/R/U/D/E), the outcome, the user (the token's fhirUser or subject), the client application and
 * this server as agents, and as entities the resource, the query, and the patient when known.
 * Built from the request and its response only: nothing is read to record it. Codings carry no
 * display (optional in BALP): one AuditEvent is stored per read, and every byte is stored twice
 * (resource and history) and sent over the wire.
 */

const AUDIT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
const BALP_USER_AGENT = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const ENTITY_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';

export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

/** What a request was, read from its method and path (https://hl7.org/fhir/R4/http.html). */
export interface AuditedInteraction {
  /**
   * A code of http://hl7.org/fhir/restful-interaction (R4 valueset-restful-interaction); absent
   * for a request refused because its HTTP method is no FHIR interaction (405).
   */
  readonly subtype?: string;
  readonly action: AuditAction;
  readonly resourceType?: string;
  readonly id?: string;
  /** The request is a search: its query is recorded as a Query entity. */
  readonly query?: boolean;
}

const WRITE_ACTION = { POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' } as const;
const WRITE_SUBTYPE = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const;

/** The interaction a request stands for; undefined for discovery (metadata, SMART configuration), which is not audited. */
export function interactionOf(request: FhirRequest): AuditedInteraction | undefined {
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const segments = request.path === '' ? [] : request.path.split('/');
  const [first, second, third, fourth] = segments;
  if (first === 'metadata' || first === '.well-known') return undefined;
  if (segments.length === 0) {
    if (method === 'POST') {
      const type = (request.body as Bundle | undefined)?.type;
      return { subtype: type === 'batch' ? 'batch' : 'transaction', action: 'E' };
    }
    return { subtype: 'search-system', action: 'E', query: true };
  }
  if (first === '_search') return { subtype: 'search-system', action: 'E', query: true };
  if (first === '_history') return { subtype: 'history-system', action: 'R' };
  if (first.startsWith('$') || first === '_export') return { subtype: 'operation', action: 'E' };
  const resourceType = first;
  if (segments.length === 1) {
    if (method === 'GET') return { subtype: 'search-type', action: 'E', resourceType, query: true };
    return { subtype: WRITE_SUBTYPE[method], action: WRITE_ACTION[method], resourceType };
  }
  if (second === '_search') return { subtype: 'search-type', action: 'E', resourceType, query: true };
  if (second === '_history') return { subtype: 'history-type', action: 'R', resourceType };
  if (second.startsWith('$')) return { subtype: 'operation', action: 'E', resourceType };
  const id = second;
  if (segments.length === 2) {
    if (method === 'GET') return { subtype: 'read', action: 'R', resourceType, id };
    return { subtype: WRITE_SUBTYPE[method], action: WRITE_ACTION[method], resourceType, id };
  }
  if (third === '_history') return { subtype: fourth === undefined ? 'history-instance' : 'vread', action: 'R', resourceType, id };
  if (third.startsWith('$')) return { subtype: 'operation', action: 'E', resourceType, id };
  // Compartment search, e.g. Patient/123/CarePlan.
  return { subtype: 'search-type', action: 'E', resourceType: third === '*' ? undefined : third, query: true };
}

/** What happened to the request: its status and, for a failure, the reason given to the client. */
export interface AuditedResult {
  readonly status: number;
  readonly diagnostics?: string;
  readonly response?: FhirResponse;
}

/** R4 AuditEvent.outcome: 0 success, 4 minor failure (the client's error), 8 serious failure (the server's). */
function outcomeCode(status: number): '0' | '4' | '8' {
  return status < 400 ? '0' : status < 500 ? '4' : '8';
}

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;
/** The first subject/patient/beneficiary reference to a Patient in stored JSON text (no parse). */
const PATIENT_IN_TEXT = /"(?:subject|patient|beneficiary|for)":\{"reference":"Patient\/([A-Za-z0-9\-.]{1,64})"/;

function patientOfResource(resource: Resource | undefined): string | undefined {
  if (!resource) return undefined;
  if (resource.resourceType === 'Patient') return resource.id;
  const element = resource as { subject?: { reference?: string }; patient?: { reference?: string }; beneficiary?: { reference?: string }; for?: { reference?: string } };
  for (const reference of [element.subject, element.patient, element.beneficiary, element.for]) {
    const match = PATIENT_REFERENCE.exec(reference?.reference ?? '');
    if (match) return match[1];
  }
  return undefined;
}

/** The patient a request concerns, when the path, the query or the resource says so. */
function patientOf(request: FhirRequest, interaction: AuditedInteraction, response: FhirResponse | undefined): string | undefined {
  const [first, second] = request.path.split('/');
  if (first === 'Patient' && second && !second.startsWith('$') && !second.startsWith('_')) return second;
  for (const [name, value] of request.query) {
    if (name === 'patient' || name === 'subject' || name === 'beneficiary') {
      const id = PATIENT_REFERENCE.exec(value)?.[1] ?? (name === 'patient' && /^[A-Za-z0-9\-.]{1,64}$/.test(value) ? value : undefined);
      if (id) return id;
    }
  }
  if (interaction.query) return undefined;
  // A refused write: the resource it tried to write says whose it is.
  if (!response) return patientOfResource(request.body as Resource | undefined);
  if (response.resourceJson !== undefined) return interaction.resourceType === 'Patient' ? interaction.id : PATIENT_IN_TEXT.exec(response.resourceJson)?.[1];
  return patientOfResource(response.resource);
}

/** `Type/id[/_history/v]` of the resource a response is about (Location of a write, ETag of a read). */
function resourceReference(interaction: AuditedInteraction, response: FhirResponse | undefined, baseUrl: string): string | undefined {
  const location = response?.location;
  if (location) return location.startsWith(`${baseUrl}/`) ? location.slice(baseUrl.length + 1) : location;
  if (!interaction.resourceType || !interaction.id) return undefined;
  const version = /^W\/"(\d+)"$/.exec(response?.etag ?? '')?.[1];
  return `${interaction.resourceType}/${interaction.id}${version ? `/_history/${version}` : ''}`;
}

const MAX_BUNDLE_ENTITIES = 100;

/*
 * Codings every event repeats, shared rather than made per request (a read's event is built at
 * thousands per second, and each object made is collected later). Frozen: nothing may change one
 * event's coding through another's.
 */
const PERSON_ENTITY = Object.freeze({ system: ENTITY_TYPE, code: '1' });
export const OBJECT_ENTITY = Object.freeze({ system: ENTITY_TYPE, code: '2' });
const PATIENT_ROLE = Object.freeze({ system: ENTITY_ROLE, code: '1' });
export const DOMAIN_RESOURCE_ROLE = Object.freeze({ system: ENTITY_ROLE, code: '4' });
const QUERY_ROLE = Object.freeze({ system: ENTITY_ROLE, code: '24' });
const REST_TYPE = Object.freeze({ system: AUDIT_TYPE, code: 'rest' });
const SOURCE = Object.freeze({ observer: Object.freeze({ display: 'kanplan' }), type: Object.freeze([Object.freeze({ system: SOURCE_TYPE, code: '4' })]) });

export function entitiesOf(request: FhirRequest, interaction: AuditedInteraction, result: AuditedResult, baseUrl: string): AuditEventEntity[] {
  const entities: AuditEventEntity[] = [];
  const patient = patientOf(request, interaction, result.response);
  if (patient) {
    entities.push({ what: { reference: `Patient/${patient}` }, type: PERSON_ENTITY, role: PATIENT_ROLE });
  }
  const reference = resourceReference(interaction, result.response, baseUrl);
  if (reference && reference !== `Patient/${patient}` && !reference.startsWith(`Patient/${patient}/`)) {
    entities.push({ what: { reference }, type: OBJECT_ENTITY, role: DOMAIN_RESOURCE_ROLE });
  } else if (reference) {
    entities[0] = { ...entities[0], what: { reference } };
  }
  if (interaction.query) {
    const text = request.query.length ? `${request.path}?${new URLSearchParams(request.query.map(([n, v]) => [n, v])).toString()}` : request.path;
    entities.push({
      type: OBJECT_ENTITY,
      role: QUERY_ROLE,
      query: Buffer.from(text).toString('base64'),
      description: text.slice(0, 1000),
    });
  }
  // A batch or transaction: every entry's resource (up to a bound). Only then is the response's
  // resource looked at: a read's is stored JSON parsed on first access, which would double its cost.
  if (interaction.subtype !== 'batch' && interaction.subtype !== 'transaction') return entities;
  const bundle = result.response?.resource as Bundle | undefined;
  if (bundle?.resourceType === 'Bundle' && (bundle.type === 'batch-response' || bundle.type === 'transaction-response')) {
    for (const entry of (bundle.entry ?? []).slice(0, MAX_BUNDLE_ENTITIES)) {
      const location = entry.response?.location;
      if (!location) continue;
      entities.push({
        what: { reference: location.startsWith(`${baseUrl}/`) ? location.slice(baseUrl.length + 1) : location },
        type: OBJECT_ENTITY,
        role: DOMAIN_RESOURCE_ROLE,
      });
    }
  }
  return entities;
}

/**
 * The agents of each caller's events, made once per verified token: the token verifier keeps one
 * AccessContext per token (src/auth/access.ts), so a caller's events share one frozen agent list
 * (and read-event-groups.ts its caller key) instead of building it per request.
 */
const agentsByAccess = new WeakMap<AccessContext, { readonly baseUrl: string; readonly agents: AuditEventAgent[] }>();

/** The user, the client application and this server (BALP OAuth agents), shared per caller. */
export function agentsOf(access: AccessContext | undefined, baseUrl: string): AuditEventAgent[] {
  // A refused token's events (401) are few: their agents are made each time.
  if (!access) return agentListOf(undefined, baseUrl);
  const known = agentsByAccess.get(access);
  if (known?.baseUrl === baseUrl) return known.agents;
  const agents = deepFreeze(agentListOf(access, baseUrl));
  agentsByAccess.set(access, { baseUrl, agents });
  return agents;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function agentListOf(access: AccessContext | undefined, baseUrl: string): AuditEventAgent[] {
  const agents: AuditEventAgent[] = [];
  if (access) {
    agents.push({
      type: { coding: [{ system: BALP_USER_AGENT, code: 'UserOauthAgent' }] },
      who: access.fhirUser ? { reference: access.fhirUser } : { identifier: { value: access.subject }, display: access.subject },
      altId: access.subject,
      requestor: true,
    });
    if (access.clientId) {
      agents.push({
        type: { coding: [{ system: DICOM, code: '110153' }] },
        who: { identifier: { system: OAUTH_CLIENT_SYSTEM, value: access.clientId } },
        name: access.clientId,
        requestor: false,
      });
    }
  } else {
    agents.push({ who: { display: 'unauthenticated caller' }, requestor: true });
  }
  agents.push({
    type: { coding: [{ system: DICOM, code: '110152' }] },
    who: { display: 'kanplan' },
    requestor: false,
    network: { address: baseUrl, type: '5' },
  });
  return agents;
}

/** The AuditEvent of one request; `access` undefined when the token was refused (401). */
export function auditEventOf(
  request: FhirRequest,
  interaction: AuditedInteraction,
  access: AccessContext | undefined,
  result: AuditedResult,
  baseUrl: string,
): AuditEvent & { id: string } {
  const outcome = outcomeCode(result.status);
  return {
    resourceType: 'AuditEvent',
    id: randomUUID(),
    type: REST_TYPE,
    ...(interaction.subtype ? { subtype: [{ system: INTERACTION, code: interaction.subtype }] } : {}),
    action: interaction.action,
    recorded: new Date().toISOString(),
    outcome,
    ...(outcome === '0' ? {} : { outcomeDesc: `${result.status}${result.diagnostics ? `: ${result.diagnostics.slice(0, 500)}` : ''}` }),
    agent: agentsOf(access, baseUrl),
    source: SOURCE as AuditEvent['source'],
    entity: entitiesOf(request, interaction, result, baseUrl),
  };
}
