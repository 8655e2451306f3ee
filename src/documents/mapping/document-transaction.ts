import { isDeepStrictEqual } from 'node:util';
import { withoutEmptyElements } from './optional-fields.ts';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { identifierSystem } from '../canonical.ts';
import type { PlannedResource } from './plan-context.ts';
import { fullUrlFor, identifierSearch, identifiersOf } from './plan-references.ts';

/**
 * Turning a list of resources made from one document into one FHIR transaction Bundle.
 *
 * Every resource carries a business identifier and is written with a conditional update
 * (`PUT Type?identifier=system|value`, https://hl7.org/fhir/R4/http.html#cond-update): the first
 * import creates it, a re-import updates the same resource. Entries reference each other by
 * `urn:uuid:` fullUrls derived from the identifier (plan-references.ts), so the same document
 * always yields the same Bundle (useful for tests and for diffing).
 */

/** A transaction Bundle plus, per entry, the document pointer it came from. */
export interface DocumentTransaction {
  readonly bundle: Bundle & { type: 'transaction' };
  /** entryPointers[i] is the JSON pointer of the document part entry i was made from. */
  readonly entryPointers: readonly string[];
}

function conditionalEntry(planned: PlannedResource): BundleEntry {
  return {
    fullUrl: fullUrlFor(planned.identifier),
    resource: withoutEmptyElements(planned.resource),
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
