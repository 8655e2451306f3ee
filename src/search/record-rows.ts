import type { AuditEvent, CodeableConcept, Coding, Provenance, Reference, Resource } from '@medplum/fhirtypes';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { dedupe, emptyRows, tokenRowsOf, type IndexRows } from './index-rows.ts';
import { parseReference } from './references.ts';
import { dateRange, normalizeString } from './values.ts';

/**
 * The index rows of the records the server writes by the thousand — an AuditEvent per request
 * (src/fhir/audit/), a Provenance per write (src/fhir/writes/provenance.ts) — without FHIRPath.
 * Evaluated with FHIRPath, the R4 AuditEvent parameters cost 50–160 µs of CPU per event, more
 * than the read it records, and the Provenance ones ~140 µs against ~20 µs for a Goal (their
 * `patient` and `when` expressions), a fifth of a validated create. These rows are the same as the
 * FHIRPath ones (test/search/record-rows.test.ts compares them) for records made only of the
 * elements below, which are the shapes the server writes; any other (one a client sent, with
 * other elements) and a parameter set other than R4's go through FHIRPath as usual (undefined
 * here).
 */

/** The R4 AuditEvent search parameters (https://hl7.org/fhir/R4/auditevent.html#search) and the resource-wide ones. */
const R4_CODES = new Set([
  'action', 'address', 'agent', 'agent-name', 'agent-role', 'altid', 'date', 'entity', 'entity-name', 'entity-role',
  'entity-type', 'outcome', 'patient', 'policy', 'site', 'source', 'subtype', 'type',
  '_id', '_lastUpdated', '_profile', '_security', '_source', '_tag', '_text', '_content', '_list', '_has', '_type', '_query',
]);

const ELEMENTS = new Set(['resourceType', 'id', 'meta', 'type', 'subtype', 'action', 'period', 'recorded', 'outcome', 'outcomeDesc', 'agent', 'source', 'entity']);
const META = new Set(['versionId', 'lastUpdated']);
const AGENT = new Set(['type', 'who', 'altId', 'name', 'requestor', 'network']);
const SOURCE = new Set(['site', 'observer', 'type']);
const ENTITY = new Set(['what', 'type', 'role', 'query', 'description']);
const REFERENCE = new Set(['reference', 'identifier', 'display']);

function only(value: object | undefined, keys: ReadonlySet<string>): boolean {
  if (value === undefined) return true;
  for (const key in value) if (!keys.has(key)) return false;
  return true;
}

/**
 * normalizeString of the few strings every event repeats (the client's name, this server's
 * address): Unicode normalization is the costliest part of an event's rows.
 */
const normalizedNames = new Map<string, string>();
function normalizedName(value: string): string {
  let normalized = normalizedNames.get(value);
  if (normalized === undefined) {
    normalized = normalizeString(value);
    if (normalizedNames.size >= 1_000) normalizedNames.clear();
    normalizedNames.set(value, normalized);
  }
  return normalized;
}

const COMMON_CODES = ['_id', '_lastUpdated', '_profile', '_security', '_source', '_tag', '_text', '_content', '_list', '_has', '_type', '_query'];
/** https://hl7.org/fhir/R4/provenance.html#search */
const PROVENANCE_CODES = new Set(['agent', 'agent-role', 'agent-type', 'entity', 'location', 'patient', 'recorded', 'signature-type', 'target', 'when', ...COMMON_CODES]);

const standardRegistries = new WeakMap<SearchParameterRegistry, Map<string, boolean>>();

/** Whether the registry's parameters of the type are R4's, which the rows below stand for. */
function hasStandardParameters(parameters: SearchParameterRegistry, resourceType: 'AuditEvent' | 'Provenance'): boolean {
  let known = standardRegistries.get(parameters);
  if (!known) {
    known = new Map();
    standardRegistries.set(parameters, known);
  }
  let standard = known.get(resourceType);
  if (standard === undefined) {
    const codes = resourceType === 'AuditEvent' ? R4_CODES : PROVENANCE_CODES;
    standard = [...parameters.paramsOf(resourceType).keys()].every((code) => codes.has(code));
    known.set(resourceType, standard);
  }
  return standard;
}

function isHandled(event: AuditEvent): boolean {
  return (
    only(event, ELEMENTS) &&
    only(event.meta, META) &&
    only(event.source, SOURCE) &&
    only(event.source?.observer, REFERENCE) &&
    (event.agent ?? []).every((agent) => only(agent, AGENT) && only(agent.who, REFERENCE)) &&
    (event.entity ?? []).every((entity) => only(entity, ENTITY) && only(entity.what, REFERENCE))
  );
}

const codingKey = (coding: Coding | undefined): string => (coding ? `${coding.system}|${coding.code}|${coding.display}` : '');

function codingRow(code: string, coding: Coding | undefined, rows: IndexRows): void {
  if (coding) rows.token.push([code, coding.system ?? null, coding.code ?? null, coding.display ? normalizeString(coding.display) : null]);
}

/** A Reference as the `code` parameter and, when it names a Patient, as `patient` (resolve() is Patient). */
function referenceRows(code: string, reference: Reference | undefined, rows: IndexRows, baseUrl: string | undefined): void {
  if (!reference) return;
  if (reference.reference && !reference.reference.startsWith('#')) {
    const parsed = parseReference(reference.reference, baseUrl);
    rows.reference.push([code, parsed.targetType, parsed.targetId, parsed.url]);
    if (parsed.targetType === 'Patient' && parsed.targetId) rows.reference.push(['patient', 'Patient', parsed.targetId, null]);
  }
  if (reference.identifier) tokenRowsOf(`${code}:identifier`, { type: 'Identifier', value: reference.identifier }, rows);
}

/** The index rows of an AuditEvent of the server's shape (audit-event.ts), else undefined. */
export function auditEventIndexRows(parameters: SearchParameterRegistry, event: AuditEvent, baseUrl: string | undefined): IndexRows | undefined {
  if (!hasStandardParameters(parameters, 'AuditEvent') || !isHandled(event)) return undefined;
  const rows = emptyRows();
  if (event.action) rows.token.push(['action', null, event.action, null]);
  if (event.outcome) rows.token.push(['outcome', null, event.outcome, null]);
  codingRow('type', event.type, rows);
  for (const subtype of event.subtype ?? []) codingRow('subtype', subtype, rows);
  const recorded = event.recorded ? dateRange(event.recorded) : undefined;
  if (recorded) rows.date.push(['date', recorded[0], recorded[1]]);
  if (event.source?.site) rows.token.push(['site', null, event.source.site, null]);
  referenceRows('source', event.source?.observer, rows, baseUrl);
  for (const agent of event.agent ?? []) {
    referenceRows('agent', agent.who, rows, baseUrl);
    if (agent.altId) rows.token.push(['altid', null, agent.altId, null]);
    if (agent.name) rows.string.push(['agent-name', normalizedName(agent.name), agent.name]);
    if (agent.network?.address) rows.string.push(['address', normalizedName(agent.network.address), agent.network.address]);
  }
  // A grouped read event (src/fhir/audit/read-event-groups.ts) repeats an entity for each
  // request that read the same version: its rows are made once (dedupe would drop the repeats).
  const seen = new Set<string>();
  for (const entity of event.entity ?? []) {
    if (!entity.what?.identifier && !entity.query) {
      const key = `${entity.what?.reference}\u0000${codingKey(entity.type)}\u0000${codingKey(entity.role)}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    referenceRows('entity', entity.what, rows, baseUrl);
    codingRow('entity-type', entity.type, rows);
    codingRow('entity-role', entity.role, rows);
  }
  return dedupe(rows);
}

const PROVENANCE = new Set(['resourceType', 'id', 'meta', 'target', 'recorded', 'activity', 'agent', 'entity']);
const PROVENANCE_AGENT = new Set(['type', 'who', 'onBehalfOf']);
const PROVENANCE_ENTITY = new Set(['role', 'what']);

function isHandledProvenance(provenance: Provenance): boolean {
  return (
    only(provenance, PROVENANCE) &&
    only(provenance.meta, META) &&
    provenance.target.every((target) => only(target, REFERENCE)) &&
    (provenance.agent ?? []).every((agent) => only(agent, PROVENANCE_AGENT) && only(agent.who, REFERENCE)) &&
    (provenance.entity ?? []).every((entity) => only(entity, PROVENANCE_ENTITY) && only(entity.what, REFERENCE))
  );
}

/** A Reference as the `code` parameter; a Patient target also as `patient` (Provenance.target.where(resolve() is Patient)). */
function provenanceReferenceRows(code: string, reference: Reference | undefined, rows: IndexRows, baseUrl: string | undefined): void {
  if (!reference) return;
  if (reference.reference && !reference.reference.startsWith('#')) {
    const parsed = parseReference(reference.reference, baseUrl);
    rows.reference.push([code, parsed.targetType, parsed.targetId, parsed.url]);
    if (code === 'target' && parsed.targetType === 'Patient' && parsed.targetId) rows.reference.push(['patient', 'Patient', parsed.targetId, null]);
  }
  if (reference.identifier) tokenRowsOf(`${code}:identifier`, { type: 'Identifier', value: reference.identifier }, rows);
}

/** The index rows of a Provenance of the server's shapes (provenance.ts, a document import's), else undefined. */
export function provenanceIndexRows(parameters: SearchParameterRegistry, provenance: Provenance, baseUrl: string | undefined): IndexRows | undefined {
  if (!hasStandardParameters(parameters, 'Provenance') || !isHandledProvenance(provenance)) return undefined;
  const rows = emptyRows();
  for (const target of provenance.target) provenanceReferenceRows('target', target, rows, baseUrl);
  const recorded = provenance.recorded ? dateRange(provenance.recorded) : undefined;
  if (recorded) rows.date.push(['recorded', recorded[0], recorded[1]]);
  for (const agent of provenance.agent ?? []) {
    provenanceReferenceRows('agent', agent.who, rows, baseUrl);
    if (agent.type) tokenRowsOf('agent-type', { type: 'CodeableConcept', value: agent.type as CodeableConcept }, rows);
  }
  for (const entity of provenance.entity ?? []) provenanceReferenceRows('entity', entity.what, rows, baseUrl);
  return dedupe(rows);
}

/** Rows of a server record (AuditEvent, Provenance) without FHIRPath, or undefined: use FHIRPath. */
export function recordIndexRows(parameters: SearchParameterRegistry, resource: Resource, baseUrl: string | undefined): IndexRows | undefined {
  if (resource.resourceType === 'AuditEvent') return auditEventIndexRows(parameters, resource, baseUrl);
  if (resource.resourceType === 'Provenance') return provenanceIndexRows(parameters, resource, baseUrl);
  return undefined;
}
