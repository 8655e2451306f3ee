import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Bundle, BundleEntry, Identifier, Reference, Resource, ResourceType } from '@medplum/fhirtypes';
import { identifierSystem } from './canonical.ts';

/**
 * Turning a list of resources made from one document into one FHIR transaction Bundle.
 *
 * Every resource carries a business identifier and is written with a conditional update
 * (`PUT Type?identifier=system|value`, https://hl7.org/fhir/R4/http.html#cond-update): the first
 * import creates it, a re-import updates the same resource. Entries reference each other by
 * `urn:uuid:` fullUrls derived from the identifier, so the same document always yields the same
 * Bundle (useful for tests and for diffing).
 */

/** One resource the mapper wants written, with where it came from in the document. */
export interface PlannedResource {
  readonly resource: Resource;
  /** The identifier the conditional update matches on. */
  readonly identifier: Identifier;
  /** JSON pointer of the document part this resource came from (to translate profile errors). */
  readonly pointer: string;
}

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

/** A transaction Bundle plus, per entry, the document pointer it came from. */
export interface DocumentTransaction {
  readonly bundle: Bundle & { type: 'transaction' };
  /** entryPointers[i] is the JSON pointer of the document part entry i was made from. */
  readonly entryPointers: readonly string[];
}

function conditionalEntry(planned: PlannedResource): BundleEntry {
  return {
    fullUrl: fullUrlFor(planned.identifier),
    resource: planned.resource,
    request: { method: 'PUT', url: identifierSearch(planned.resource.resourceType, planned.identifier) },
  };
}

/**
 * What "ended" means per resource type, for items that disappeared from a re-imported document:
 * they are closed by status (42 CFR 441.301(c)(3) revisions keep the history), never deleted and
 * never left active.
 */
function endedVersion(resource: Resource): Resource | undefined {
  switch (resource.resourceType) {
    case 'Goal':
      return resource.lifecycleStatus === 'cancelled' ? undefined : { ...resource, lifecycleStatus: 'cancelled' };
    case 'ServiceRequest':
    case 'MedicationRequest':
      return resource.status === 'revoked' || resource.status === 'cancelled'
        ? undefined
        : resource.resourceType === 'ServiceRequest'
          ? { ...resource, status: 'revoked' }
          : { ...resource, status: 'cancelled' };
    case 'Task':
      return resource.status === 'cancelled' || resource.status === 'completed' ? undefined : { ...resource, status: 'cancelled' };
    case 'Condition':
      return resource.clinicalStatus?.coding?.[0]?.code === 'resolved'
        ? undefined
        : { ...resource, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }] } };
    case 'RiskAssessment':
    case 'Observation':
      return resource.status === 'cancelled' ? undefined : { ...resource, status: 'cancelled' } as Resource;
    case 'Consent':
      return resource.status === 'inactive' ? undefined : { ...resource, status: 'inactive' };
    case 'Flag':
      return resource.status === 'inactive' ? undefined : { ...resource, status: 'inactive' };
    case 'MedicationStatement':
      return resource.status === 'stopped' ? undefined : { ...resource, status: 'stopped' };
    case 'CarePlan':
      return resource.status === 'revoked' ? undefined : { ...resource, status: 'revoked' };
    case 'QuestionnaireResponse':
      // Left as it is: a completed response records what was answered, and R4 has no status for
      // "no longer current" (`stopped` means abandoned while in progress,
      // https://hl7.org/fhir/R4/valueset-questionnaire-answers-status.html). A PCSP always has
      // one functional assessment whose response is updated in place, so none is ever left over.
      return undefined;
    default:
      return undefined;
  }
}

/**
 * A resource's business identifiers as a list: most types have `identifier` 0..*, but some
 * (QuestionnaireResponse, Bundle, ...) have a single `identifier` 0..1.
 */
export function identifiersOf(resource: Resource | undefined): Identifier[] {
  const identifier = (resource as { identifier?: Identifier | Identifier[] } | undefined)?.identifier;
  return identifier === undefined ? [] : Array.isArray(identifier) ? identifier : [identifier];
}

function planItemValueOf(resource: Resource): string | undefined {
  return identifiersOf(resource).find((i) => i.system === identifierSystem.planItem)?.value;
}

/**
 * Entries that end the resources of a previous import of the same plan that the new document no
 * longer contains. `existing` are the stored resources of the plan (with ids).
 */
export function endRemovedItems(planId: string, planned: readonly PlannedResource[], existing: readonly Resource[]): BundleEntry[] {
  const kept = new Set(planned.map((p) => `${p.identifier.system}|${p.identifier.value}`));
  return existing.flatMap((resource) => {
    const value = planItemValueOf(resource);
    if (!value || !value.startsWith(`${planId}/`) || kept.has(`${identifierSystem.planItem}|${value}`) || !resource.id) {
      return [];
    }
    const ended = endedVersion(resource);
    return ended ? [{ fullUrl: `${resource.resourceType}/${resource.id}`, resource: ended, request: { method: 'PUT' as const, url: `${resource.resourceType}/${resource.id}` } }] : [];
  });
}

export function buildDocumentTransaction(planId: string, planned: readonly PlannedResource[], existing: readonly Resource[] = []): DocumentTransaction {
  const ending = endRemovedItems(planId, planned, existing);
  return {
    bundle: { resourceType: 'Bundle', type: 'transaction', entry: [...planned.map(conditionalEntry), ...ending] },
    entryPointers: [...planned.map((p) => p.pointer), ...ending.map(() => '')],
  };
}

function withoutServerFields(resource: Resource): Omit<Resource, 'id' | 'meta'> & { meta?: unknown } {
  const { id: _id, meta, ...rest } = resource;
  const profile = meta?.profile;
  return profile ? { ...rest, meta: { profile } } : rest;
}

function identifierKeys(resource: Resource): string[] {
  return identifiersOf(resource).map((i) => `${i.system}|${i.value}`);
}

/**
 * Drops the entries whose resource the server already holds exactly as the document says, so a
 * re-import writes no new versions; references to existing resources become `Type/id` first so
 * that dropping an entry never leaves a dangling urn:uuid. Returns how many entries were dropped.
 */
export function skipUnchangedEntries(transaction: DocumentTransaction, existing: readonly Resource[]): { transaction: DocumentTransaction; unchanged: number } {
  const byIdentifier = new Map<string, Resource>();
  for (const resource of existing) {
    for (const key of identifierKeys(resource)) {
      byIdentifier.set(`${resource.resourceType}|${key}`, resource);
    }
  }
  const entries = transaction.bundle.entry ?? [];
  const targets = new Map<string, string>();
  const matches = entries.map((entry) => {
    const resource = entry.resource;
    const match = resource && identifierKeys(resource).map((key) => byIdentifier.get(`${resource.resourceType}|${key}`)).find((r) => r !== undefined);
    if (match && entry.fullUrl?.startsWith('urn:uuid:')) {
      targets.set(entry.fullUrl, `${match.resourceType}/${match.id}`);
    }
    return match;
  });
  for (const resource of existing) {
    for (const key of identifierKeys(resource)) {
      const [system, ...value] = key.split('|');
      targets.set(identifierSearch(resource.resourceType, { system, value: value.join('|') }), `${resource.resourceType}/${resource.id}`);
    }
  }
  const rewrite = <T>(value: T): T => {
    if (Array.isArray(value)) {
      return value.map(rewrite) as T;
    }
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, child]) => [key, key === 'reference' && typeof child === 'string' ? (targets.get(child) ?? child) : rewrite(child)]),
      ) as T;
    }
    return value;
  };
  const kept: BundleEntry[] = [];
  const keptPointers: string[] = [];
  let unchanged = 0;
  entries.forEach((entry, index) => {
    const resource = entry.resource ? rewrite(entry.resource) : undefined;
    const match = matches[index];
    if (resource && match && isDeepStrictEqual(withoutServerFields(resource), withoutServerFields(match))) {
      unchanged += 1;
      return;
    }
    kept.push({ ...entry, ...(resource ? { resource } : {}) });
    keptPointers.push(transaction.entryPointers[index] ?? '');
  });
  return { transaction: { bundle: { ...transaction.bundle, entry: kept }, entryPointers: keptPointers }, unchanged };
}
