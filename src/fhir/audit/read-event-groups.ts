import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventAgent, AuditEventEntity } from '@medplum/fhirtypes';
import type { AccessContext } from '../../auth/access.ts';
import type { FhirRequest } from '../request.ts';
import { agentsOf, auditEventOf, DOMAIN_RESOURCE_ROLE, entitiesOf, OBJECT_ENTITY, type AuditedInteraction, type AuditedResult } from './audit-event.ts';

type StoredAuditEvent = AuditEvent & { id: string };

/**
 * Grouped read-side AuditEvents (AUDIT_READ_GROUPING). Stored as an ordinary resource, an
 * AuditEvent is a resource row, a history row and ~15 index rows: 0.7–1.2 ms of CPU on the
 * embedded database, several times the read it records (bench/RESULTS-audit.md). So the reads,
 * searches and operation reads of one flush window that share the user, the client application,
 * the patient, the interaction (subtype and action) and a successful outcome become ONE
 * AuditEvent, still of the IHE Basic Audit Log Patterns' shapes (https://profiles.ihe.net/ITI/BALP/):
 * the same type, subtype, action, outcome, agents and source; `period` from the first request to
 * the last (`recorded` is the last); the patient entity once (role 1), then exactly ONE entity per
 * request — the resource read (type 2, role 4, versioned) or the query (role 24) — repeats kept,
 * so the number of requests an event records is its number of entities that are not the
 * patient's. Writes, refused requests and anything stored before its response stay one event per
 * request (audit-log.ts), as does a read whose event has no single entity of its own to stand for it
 * (a system-level history or operation without a patient).
 */

/** Requests one grouped AuditEvent records at most; the next ones of the group start another. */
export const MAX_REQUESTS_PER_EVENT = 100;

const PATIENT_ROLE = '1';
const PATIENT_OF_REFERENCE = /^Patient\/[A-Za-z0-9\-.]{1,64}/;

interface RequestEntities {
  /** The patient entity (role 1) the request's event named, unversioned; absent when none. */
  readonly patient?: AuditEventEntity;
  /** The one entity standing for the request: what it read, or its query. */
  readonly request: AuditEventEntity;
}

/**
 * The entities of a one-request event (audit-event.ts) split into its patient's and the request's
 * own; undefined when the request has not exactly one of its own. A read of the Patient itself
 * (or an operation on it) named it once, as patient (role 1): in a group it becomes the patient
 * entity plus the Patient as the resource read (type 2, role 4), as BALP's PatientRead has it.
 */
function splitEntities(entities: readonly AuditEventEntity[]): RequestEntities | undefined {
  const [first, ...rest] = entities;
  if (first?.role?.code !== PATIENT_ROLE) return rest.length === 0 && first ? { request: first } : undefined;
  const reference = first.what?.reference ?? '';
  const patientReference = PATIENT_OF_REFERENCE.exec(reference)?.[0];
  if (!patientReference) return undefined;
  const patient: AuditEventEntity = { ...first, what: { reference: patientReference } };
  const own =
    reference !== patientReference || rest.length === 0
      ? [{ what: { reference }, type: OBJECT_ENTITY, role: DOMAIN_RESOURCE_ROLE }, ...rest]
      : rest;
  return own.length === 1 ? { patient, request: own[0] as AuditEventEntity } : undefined;
}

/**
 * The caller an event names: its agents (the user, the client, this server) are built from the
 * token alone (audit-event.ts agentsOf), so who each is and the subject (altId) tell them apart;
 * cheaper than comparing their JSON, which is per read.
 */
const callerOfAgents = new WeakMap<readonly AuditEventAgent[], string>();

function callerOf(agents: readonly AuditEventAgent[]): string {
  // One agent list per verified token (audit-event.ts agentsOf): its key is computed once.
  const known = callerOfAgents.get(agents);
  if (known !== undefined) return known;
  let caller = '';
  for (const agent of agents) caller += `${agent.who?.reference ?? ''}\u0000${agent.who?.identifier?.value ?? ''}\u0000${agent.who?.display ?? ''}\u0000${agent.altId ?? ''}\u0001`;
  callerOfAgents.set(agents, caller);
  return caller;
}

/**
 * A successful read-side request, before an AuditEvent is made of it: only the entity it adds
 * and its group's key are worked out per request; the whole event (agents, type, source) is made
 * once per group, when the group opens. At thousands of reads a second the per-request event
 * was most of auditing's cost (bench/RESULTS-audit.md).
 */
export interface AuditedRead {
  readonly request: FhirRequest;
  readonly interaction: AuditedInteraction;
  readonly access: AccessContext;
  readonly result: AuditedResult;
  readonly baseUrl: string;
}

type GroupedEvent = StoredAuditEvent & { entity: AuditEventEntity[] };

interface OpenGroup {
  readonly event: GroupedEvent;
  /** First and last request, ms since the epoch: `period` and `recorded` are written when the group closes. */
  readonly first: number;
  last: number;
  requests: number;
}

/** The event of a group as stored: `period` from the first request to the last, `recorded` the last. */
function closed(group: OpenGroup): StoredAuditEvent {
  const end = new Date(group.last).toISOString();
  return { ...group.event, recorded: end, period: { start: new Date(group.first).toISOString(), end } };
}

/** The grouped events of one flush window: `add` each read-side event, `take` them all when the window closes. */
export class ReadEventGroups {
  private open = new Map<string, OpenGroup>();
  private full: StoredAuditEvent[] = [];

  /** Adds a read-side request's event to its group; false when it is not one to group (store it as it is). */
  add(event: StoredAuditEvent): boolean {
    if (event.outcome !== '0' || !event.recorded) return false;
    const entities = splitEntities(event.entity ?? []);
    if (!entities) return false;
    this.join(`${event.subtype?.[0]?.code}|${event.action}|${entities.patient?.what?.reference ?? ''}|${callerOf(event.agent)}`, entities, Date.parse(event.recorded), () => event);
    return true;
  }

  /**
   * Adds a read-side request without making its own AuditEvent (the same groups as `add` of its
   * event would make); false when it is not one to group: record its whole event instead.
   */
  addRead(read: AuditedRead): boolean {
    if (read.result.status >= 400) return false;
    const entities = splitEntities(entitiesOf(read.request, read.interaction, read.result, read.baseUrl));
    if (!entities) return false;
    const key = `${read.interaction.subtype}|${read.interaction.action}|${entities.patient?.what?.reference ?? ''}|${callerOf(agentsOf(read.access, read.baseUrl))}`;
    this.join(key, entities, Date.now(), () => auditEventOf(read.request, read.interaction, read.access, read.result, read.baseUrl));
    return true;
  }

  private join(key: string, entities: RequestEntities, at: number, eventOfFirst: () => AuditEvent): void {
    let group = this.open.get(key);
    if (!group) {
      const event = eventOfFirst();
      group = { event: { ...event, id: randomUUID(), entity: entities.patient ? [entities.patient] : [] }, first: at, last: at, requests: 0 };
      this.open.set(key, group);
    }
    group.event.entity.push(entities.request);
    group.last = at;
    group.requests++;
    if (group.requests >= MAX_REQUESTS_PER_EVENT) {
      this.full.push(closed(group));
      this.open.delete(key);
    }
  }

  /** Grouped events waiting, open or full. */
  get size(): number {
    return this.open.size + this.full.length;
  }

  /** Every grouped event so far; the next requests start new groups. */
  take(): StoredAuditEvent[] {
    const events = [...this.full];
    for (const group of this.open.values()) events.push(closed(group));
    this.open = new Map();
    this.full = [];
    return events;
  }
}
