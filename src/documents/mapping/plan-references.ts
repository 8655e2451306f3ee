import { createHash } from 'node:crypto';
import type { Identifier, Reference, Resource, ResourceType } from '@medplum/fhirtypes';
import { identifierSystem } from '../canonical.ts';

/**
 * The business identifiers of a plan and its items, and the references between the resources a
 * document becomes. Every resource carries a business identifier; entries of the transaction
 * reference each other by `urn:uuid:` fullUrls derived from that identifier, so the same document
 * always yields the same Bundle (useful for tests and for diffing).
 */

export function uuidFor(identifier: Identifier): string {
  const hash = createHash('sha256').update(`${identifier.system}|${identifier.value}`).digest('hex');
  // Shaped as an RFC 4122 version-5-style UUID so that servers accept it as a urn:uuid.
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-8${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

export function fullUrlFor(identifier: Identifier): string {
  return `urn:uuid:${uuidFor(identifier)}`;
}

/**
 * References built here point at resources of a known type, but are created before those resources
 * exist; `Reference<never>` is assignable to every `Reference<T>` of @medplum/fhirtypes.
 */
export type PlanReference = Reference<never>;

export function referenceTo(identifier: Identifier, display?: string): PlanReference {
  return display === undefined ? { reference: fullUrlFor(identifier) } : { reference: fullUrlFor(identifier), display };
}

export function identifierSearch(resourceType: string, identifier: Identifier): string {
  return `${resourceType}?identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}`;
}

/**
 * A reference resolved by the server inside the transaction (conditional reference,
 * https://hl7.org/fhir/R4/http.html#trules): used for resources another document owns, such as
 * the PCSP a BSP belongs to. The identifier stays on the reference so the reverse mapping can read
 * the business id back without another lookup.
 */
export function conditionalReference(resourceType: ResourceType, identifier: Identifier): PlanReference {
  return { reference: identifierSearch(resourceType, identifier), type: resourceType, identifier };
}

export function planIdentifier(planId: string): Identifier {
  return { system: identifierSystem.planId, value: planId };
}

export function planItemIdentifier(value: string): Identifier {
  return { system: identifierSystem.planItem, value };
}

/**
 * A resource's business identifiers as a list: most types have `identifier` 0..*, but some
 * (QuestionnaireResponse, Bundle, ...) have a single `identifier` 0..1.
 */
export function identifiersOf(resource: Resource | undefined): Identifier[] {
  const identifier = (resource as { identifier?: Identifier | Identifier[] } | undefined)?.identifier;
  return identifier === undefined ? [] : Array.isArray(identifier) ? identifier : [identifier];
}
