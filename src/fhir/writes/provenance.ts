import { randomUUID } from 'node:crypto';
import type { Provenance, ProvenanceAgent, Reference, Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../auth/access.ts';
import { callerOfContext } from '../access/caller-access.ts';
import type { FhirContext } from '../context.ts';
import type { WriteInteraction } from './write-rule.ts';

/**
 * The Provenance of every create, update, patch and delete (https://hl7.org/fhir/R4/provenance.html):
 * the versioned target, the activity, the user and the client application that wrote it, and the
 * organization the user acts for. The write path queues it with the version it describes, so both
 * are sent in the same statement and commit or roll back together (docs/architecture.md, "The
 * life of one write"); with its search index rows, `_revinclude=Provenance:target` and
 * `Provenance?target=` find it.
 */

const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';
const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
/** DICOM 110150 "Application": the software that made the request. */
const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
/** The identifier system of OAuth client ids (RFC 6749 §2.2) as kanplan writes them in Provenance and AuditEvent. */
export const OAUTH_CLIENT_SYSTEM = 'urn:ietf:params:oauth:client-id';

const ACTIVITY: Readonly<Record<WriteInteraction, string>> = { create: 'CREATE', update: 'UPDATE', patch: 'UPDATE', delete: 'DELETE' };

/**
 * Types written without a Provenance of their own: a Provenance describes writes (a Provenance of a
 * Provenance would recurse), and an AuditEvent is the server's own record.
 */
export function isTraced(resourceType: string): boolean {
  return resourceType !== 'Provenance' && resourceType !== 'AuditEvent';
}

/** A resource reference the caller's fhirUser claim names (relative `Type/id`), if any. */
export function userReference(access: AccessContext): Reference | undefined {
  return access.fhirUser ? { reference: access.fhirUser } : undefined;
}

/** Who wrote: the user (fhirUser, else the token subject) on behalf of their organization, and the client app. */
export function writeAgents(access: AccessContext, onBehalfOf: ProvenanceAgent['onBehalfOf'], role: 'author' | 'enterer' = 'author'): ProvenanceAgent[] {
  const user: ProvenanceAgent = {
    type: { coding: [{ system: PARTICIPANT_TYPE, code: role, display: role === 'author' ? 'Author' : 'Enterer' }] },
    who: (userReference(access) as ProvenanceAgent['who'] | undefined) ?? { identifier: { value: access.subject }, display: access.subject },
    ...(onBehalfOf ? { onBehalfOf } : {}),
  };
  if (!access.clientId) {
    return [user];
  }
  const client: ProvenanceAgent = {
    type: { coding: [{ system: DICOM, code: '110150', display: 'Application' }] },
    who: { identifier: { system: OAUTH_CLIENT_SYSTEM, value: access.clientId }, display: access.clientId },
  };
  return [user, client];
}

/**
 * The organization the writer acts for, from the actor the access policy resolved once per token:
 * a PractitionerRole's organization, or the Organization a system token is registered for
 * (unless that is the agent itself).
 */
export async function organizationOf(ctx: FhirContext): Promise<ProvenanceAgent['onBehalfOf']> {
  const { actor } = await callerOfContext(ctx);
  const organization = actor.kind === 'practitioner' || actor.kind === 'system' ? actor.organization : undefined;
  return organization && organization !== ctx.access.fhirUser ? { reference: organization } : undefined;
}

export interface WrittenVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
}

export function versionedReference(version: WrittenVersion): string {
  return `${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/** The Provenance of one written version. */
export function provenanceOf(version: WrittenVersion, interaction: WriteInteraction, agents: ProvenanceAgent[]): Provenance & { id: string } {
  const activity = ACTIVITY[interaction];
  return {
    resourceType: 'Provenance',
    id: randomUUID(),
    target: [{ reference: versionedReference(version) }],
    recorded: new Date().toISOString(),
    activity: { coding: [{ system: DATA_OPERATION, code: activity, display: activity.toLowerCase() }] },
    agent: agents,
  };
}

/**
 * A document import's own Provenance stands for every write of the import (one Provenance per
 * document, with the document as its source entity), so the write path does not add one per
 * resource: it notes each written version here, and when the import's Provenance is written it
 * gets the versioned targets and the caller's agents (`completeDocumentProvenance`).
 */
export class DocumentProvenance {
  private readonly written = new Map<string, string>();

  note(version: WrittenVersion): void {
    this.written.set(`${version.resourceType}/${version.id}`, versionedReference(version));
  }

  /**
   * The import's Provenance with versioned targets and the caller's agents (as enterer: the
   * document names its own author) before the document's author.
   */
  complete(provenance: Provenance, agents: ProvenanceAgent[]): Provenance {
    return {
      ...provenance,
      target: provenance.target.map((target) => ({ ...target, reference: this.written.get(target.reference ?? '') ?? target.reference })),
      agent: [...agents, ...(provenance.agent ?? [])],
    };
  }
}

export function isProvenance(resource: Resource | undefined): resource is Provenance {
  return resource?.resourceType === 'Provenance';
}
