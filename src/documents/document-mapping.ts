import type { CarePlan, OperationOutcome, OperationOutcomeIssue, Reference, Resource } from '@medplum/fhirtypes';
import { mapBspToBundle } from './bsp/bsp-to-fhir.ts';
import { mapResourcesToBsp } from './bsp/fhir-to-bsp.ts';
import { profileUrl } from './canonical.ts';
import { mapResourcesToIsp } from './isp/fhir-to-isp.ts';
import { mapIspToBundle } from './isp/isp-to-fhir.ts';
import type { DocumentTransaction } from './mapping/document-transaction.ts';
import { planIdOf } from './mapping/stored-plan.ts';
import { mapResourcesToPcsp } from './pcsp/fhir-to-pcsp.ts';
import { mapPcspToBundle } from './pcsp/pcsp-to-fhir.ts';
import type { DocumentType, PlanDocument } from './plan-document.ts';

/**
 * The mapping of any plan document, dispatched by its type to the PCSP, BSP or ISP mapper (pcsp/,
 * bsp/, isp/), both ways; and the translation of a transaction's issues back to the document.
 */

/** Any plan document → its transaction Bundle. `existing`: stored resources of the same plan. */
export function mapDocumentToBundle(doc: PlanDocument, existing: readonly Resource[] = []): DocumentTransaction {
  switch (doc.documentType) {
    case 'pcsp':
      return mapPcspToBundle(doc, existing);
    case 'bsp':
      return mapBspToBundle(doc, existing);
    case 'isp':
      return mapIspToBundle(doc, existing);
  }
}

/** Which document a stored CarePlan was imported from, by its Kansas profile. */
export function documentTypeOfCarePlan(plan: CarePlan): DocumentType | undefined {
  const profiles = plan.meta?.profile ?? [];
  if (profiles.includes(profileUrl.pcspCarePlan)) {
    return 'pcsp';
  }
  if (profiles.includes(profileUrl.bspCarePlan)) {
    return 'bsp';
  }
  return profiles.includes(profileUrl.ispCarePlan) ? 'isp' : undefined;
}

/**
 * The references the reverse mapping needs resolved, besides the CarePlan itself: its subject and
 * everything it points at (goals, addressed conditions, activities, supporting info, care team,
 * consents inside extensions). Relative `Type/id` references only; contained (`#...`) and
 * conditional ones are skipped.
 */
export function referencesToResolve(plan: CarePlan): Reference[] {
  const found: Reference[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(walk);
    } else if (value && typeof value === 'object') {
      const reference = (value as Reference).reference;
      if (typeof reference === 'string' && /^[A-Z][A-Za-z]+\/[^?#]+$/.test(reference)) {
        found.push(value as Reference);
      }
      Object.entries(value).forEach(([key, child]) => key !== 'contained' && walk(child));
    }
  };
  walk(plan);
  const unique = new Map(found.map((r) => [r.reference, { reference: r.reference }]));
  return [...unique.values()];
}

/**
 * Stored resources (the CarePlan, its Patient and the resources `referencesToResolve` named) →
 * the document. Throws StoredPlanError when they don't hold a complete document.
 */
export function mapResourcesToDocument(plan: CarePlan, resources: readonly Resource[]): PlanDocument {
  const planId = planIdOf(plan);
  const all = resources.some((r) => r.resourceType === 'CarePlan' && r.id === plan.id) ? resources : [plan, ...resources];
  switch (documentTypeOfCarePlan(plan)) {
    case 'pcsp':
      return mapResourcesToPcsp(all, planId);
    case 'bsp':
      return mapResourcesToBsp(all, planId);
    case 'isp':
      return mapResourcesToIsp(all, planId);
    default:
      throw new NotAPlanDocumentError(`CarePlan/${plan.id} was not imported from a PCSP, BSP or ISP document (no Kansas plan profile in meta.profile).`);
  }
}

export class NotAPlanDocumentError extends Error {}

/**
 * Profile issues of a transaction (expressions like `Bundle.entry[3].resource.code`) translated
 * back to the document: the location becomes the JSON pointer of the document part entry 3 was
 * made from, and the message names it.
 */
export function translateTransactionIssues(outcome: OperationOutcome, transaction: DocumentTransaction): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: (outcome.issue ?? []).map((issue): OperationOutcomeIssue => {
      const index = /Bundle\.entry\[(\d+)\]/.exec([...(issue.expression ?? []), issue.diagnostics ?? ''].join(' '))?.[1];
      const pointer = index === undefined ? undefined : transaction.entryPointers[Number(index)];
      if (pointer === undefined) {
        return issue;
      }
      const where = pointer === '' ? 'the plan as a whole' : pointer;
      const text = `${where}: ${issue.details?.text ?? issue.diagnostics ?? 'invalid'}`;
      return { ...issue, location: [pointer], diagnostics: text, details: { text } };
    }),
  };
}
