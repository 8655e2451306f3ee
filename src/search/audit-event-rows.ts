import type { AuditEvent, Coding, Reference } from '@medplum/fhirtypes';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { dedupe, emptyRows, tokenRowsOf, type IndexRows } from './index-rows.ts';
import { parseReference } from './references.ts';
import { dateRange, normalizeString } from './values.ts';

/**
 * The index rows of an AuditEvent without FHIRPath. The server records one AuditEvent per request
 * (src/fhir/audit/), so their indexing is on the read path: evaluated with FHIRPath, the 22 R4
 * AuditEvent parameters cost 50–160 µs of CPU per event, more than the read they record. These
 * rows are the same as the FHIRPath ones (test/search/audit-event-rows.test.ts compares them)
 * for AuditEvents made only of the elements below, which is the shape the server records; any
 * other AuditEvent (one a client sent, with other elements) and a parameter set other than R4's
 * go through FHIRPath as usual (undefined here).
 */

/** The R4 AuditEvent search parameters (https://hl7.org/fhir/R4/auditevent.html#search) and the resource-wide ones. */
const R4_CODES = new Set([
  'action', 'address', 'agent', 'agent-name', 'agent-role', 'altid', 'date', 'entity', 'entity-name', 'entity-role',
  'entity-type', 'outcome', 'patient', 'policy', 'site', 'source', 'subtype', 'type',
  '_id', '_lastUpdated', '_profile', '_security', '_source', '_tag', '_text', '_content', '_list', '_has', '_type', '_query',
]);

const ELEMENTS = new Set(['resourceType', 'id', 'meta', 'type', 'subtype', 'action', 'recorded', 'outcome', 'outcomeDesc', 'agent', 'source', 'entity']);
const META = new Set(['versionId', 'lastUpdated']);
const AGENT = new Set(['type', 'who', 'altId', 'name', 'requestor', 'network']);
const SOURCE = new Set(['site', 'observer', 'type']);
const ENTITY = new Set(['what', 'type', 'role', 'query', 'description']);
const REFERENCE = new Set(['reference', 'identifier', 'display']);

const only = (value: object | undefined, keys: ReadonlySet<string>): boolean => value === undefined || Object.keys(value).every((key) => keys.has(key));

const standardRegistries = new WeakMap<SearchParameterRegistry, boolean>();

function hasStandardParameters(parameters: SearchParameterRegistry): boolean {
  let standard = standardRegistries.get(parameters);
  if (standard === undefined) {
    standard = [...parameters.paramsOf('AuditEvent').keys()].every((code) => R4_CODES.has(code));
    standardRegistries.set(parameters, standard);
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

export function auditEventIndexRows(parameters: SearchParameterRegistry, event: AuditEvent, baseUrl: string | undefined): IndexRows | undefined {
  if (!hasStandardParameters(parameters) || !isHandled(event)) return undefined;
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
    if (agent.name) rows.string.push(['agent-name', normalizeString(agent.name), agent.name]);
    if (agent.network?.address) rows.string.push(['address', normalizeString(agent.network.address), agent.network.address]);
  }
  for (const entity of event.entity ?? []) {
    referenceRows('entity', entity.what, rows, baseUrl);
    codingRow('entity-type', entity.type, rows);
    codingRow('entity-role', entity.role, rows);
  }
  return dedupe(rows);
}
