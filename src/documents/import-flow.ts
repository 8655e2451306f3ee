import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Bundle, CarePlan, OperationOutcome, Patient, Provenance, Reference, Resource } from '@medplum/fhirtypes';
import { codeSystem, identifierSystem } from './canonical.ts';
import { checkDocument, parseDocumentText, problemsToOutcome, DocumentSyntaxError } from './check-document.ts';
import { mapDocumentToBundle, referencesToResolve, translateTransactionIssues } from './document-mapping.ts';
import type { DocumentRuleOptions } from './document-rules.ts';
import { skipUnchangedEntries, type DocumentTransaction } from './mapping/document-transaction.ts';
import { identifiersOf } from './mapping/plan-references.ts';
import type { DocumentType, PlanDocument } from './plan-document.ts';
import type { DocumentProblem } from './schema-validation.ts';

/**
 * The import flow (check, compare with the stored plan, one transaction), over the few things it
 * and the export flow (export-flow.ts) need from a FHIR server. The server's `$import-document` /
 * `$document` operations implement PlanStore with the repository inside the request; tests
 * implement it with a simulated server.
 */
export interface PlanStore {
  /** The CarePlan whose identifier is `ks-plan-id|planId`, if stored. */
  findPlan(planId: string): Promise<CarePlan | undefined>;
  /** The Patient with this Kansas Medicaid ID, if stored. */
  findPatient(medicaidId: string): Promise<Patient | undefined>;
  /** A resource by relative reference `Type/id`; undefined when missing or deleted. */
  read(reference: Reference): Promise<Resource | undefined>;
  /** Runs one transaction Bundle atomically; throws TransactionFailure on any error. */
  transaction(bundle: Bundle): Promise<Bundle>;
}

/** A failed transaction: its HTTP status and OperationOutcome (issues name `Bundle.entry[n]`). */
export class TransactionFailure extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;

  constructor(status: number, outcome: OperationOutcome) {
    super(outcome.issue?.map((i) => i.diagnostics).join('; ') ?? 'transaction failed');
    this.status = status;
    this.outcome = outcome;
  }
}

export interface ImportSummary {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
}

export type ImportResult =
  | {
      readonly ok: true;
      readonly documentType: DocumentType;
      readonly planId: string;
      /** `CarePlan/id` of the plan the document became. */
      readonly carePlan: string;
      readonly response: Bundle;
      readonly summary: ImportSummary;
    }
  | { readonly ok: false; readonly status: number; readonly outcome: OperationOutcome };

/** The stored plan and everything it references (what the reverse mapping and re-import read). */
export async function readPlanResources(store: PlanStore, plan: CarePlan): Promise<Resource[]> {
  const referenced = await Promise.all(referencesToResolve(plan).map((reference) => store.read(reference)));
  return [plan, ...referenced.filter((r): r is Resource => r !== undefined)];
}

function bodyToDocument(body: unknown, mediaType: string | undefined): unknown {
  return typeof body === 'string' ? parseDocumentText(body, mediaType ?? 'application/yaml') : body;
}

function countResponses(response: Bundle, unchanged: number): ImportSummary {
  // The last entry is the Provenance of the import itself, not a resource of the plan.
  const statuses = (response.entry ?? []).slice(0, -1).map((e) => e.response?.status ?? '');
  return {
    created: statuses.filter((s) => s.startsWith('201')).length,
    updated: statuses.filter((s) => s.startsWith('200')).length,
    unchanged,
  };
}

/**
 * Validates and imports one document: schema and rules (400 with one issue per problem, located
 * by JSON pointer), then one transaction; profile errors come back located in the document.
 * Nothing is written unless the whole document imports (one transaction).
 */
export async function importPlanDocument(
  body: unknown,
  mediaType: string | undefined,
  store: PlanStore,
  options?: DocumentRuleOptions,
): Promise<ImportResult> {
  let value: unknown;
  try {
    value = bodyToDocument(body, mediaType);
  } catch (err) {
    if (err instanceof DocumentSyntaxError) {
      return { ok: false, status: 400, outcome: problemsToOutcome([{ pointer: '', code: 'structure', rule: 'syntax', message: err.message }]) };
    }
    throw err;
  }
  const check = checkDocument(value, options);
  if (!check.ok) {
    return { ok: false, status: 400, outcome: problemsToOutcome(check.problems) };
  }
  const doc = check.document;
  const mismatch = [...(await personMismatch(doc, store)), ...(await missingLinkedPlans(doc, store))];
  if (mismatch.length > 0) {
    return { ok: false, status: 422, outcome: problemsToOutcome(mismatch) };
  }
  const previous = await store.findPlan(doc.planId);
  const existing = previous ? await readPlanResources(store, previous) : [];
  const skipped = skipUnchangedEntries(mapDocumentToBundle(doc, existing), existing);
  const unchanged = skipped.unchanged;
  const transaction = withProvenance(skipped.transaction, doc, previous !== undefined, new Date().toISOString());
  let response: Bundle;
  try {
    response = transaction.bundle.entry?.length ? await store.transaction(transaction.bundle) : { resourceType: 'Bundle', type: 'transaction-response', entry: [] };
  } catch (err) {
    if (err instanceof TransactionFailure) {
      return { ok: false, status: err.status, outcome: translateTransactionIssues(err.outcome, transaction) };
    }
    throw err;
  }
  const planId = previous?.id ?? writtenPlanId(transaction.bundle, response, doc.planId) ?? (await store.findPlan(doc.planId))?.id;
  return {
    ok: true,
    documentType: doc.documentType,
    planId: doc.planId,
    carePlan: `CarePlan/${planId ?? ''}`,
    response,
    summary: countResponses(response, unchanged),
  };
}

/**
 * The id the transaction stored the document's CarePlan under, from its response entry's location
 * (`CarePlan/{id}/_history/{n}`, entries answer in request order): no search after the write.
 */
function writtenPlanId(bundle: Bundle, response: Bundle, planId: string): string | undefined {
  const index = (bundle.entry ?? []).findIndex(
    (e) => e.resource?.resourceType === 'CarePlan' && identifiersOf(e.resource).some((i) => i.system === identifierSystem.planId && i.value === planId),
  );
  return index < 0 ? undefined : /(?:^|\/)CarePlan\/([^/]+)\/_history\/\d+$/.exec(response.entry?.[index]?.response?.location ?? '')?.[1];
}

/**
 * A BSP or ISP names its person by Medicaid ID and repeats name and birth date; the Patient itself
 * comes from the PCSP. They must agree, or the document exported back would differ from the one
 * imported (and the plan might be filed under the wrong person).
 */
async function personMismatch(doc: PlanDocument, store: PlanStore): Promise<DocumentProblem[]> {
  if (doc.documentType === 'pcsp') {
    return [];
  }
  const patient = await store.findPatient(doc.person.medicaidId);
  if (!patient) {
    return [
      { pointer: '/person/medicaidId', code: 'not-found', rule: 'person', message: `/person/medicaidId ${doc.person.medicaidId}: no Patient has this Medicaid ID; import the person's PCSP (${doc.pcspPlanId}) first.` },
    ];
  }
  const stored = patient.name?.[0];
  const problems: DocumentProblem[] = [];
  if (stored?.family !== doc.person.name.family || !isDeepStrictEqual(stored?.given ?? [], doc.person.name.given)) {
    problems.push({ pointer: '/person/name', code: 'business-rule', rule: 'person', message: `/person/name does not match the name in the person's PCSP (${[...(stored?.given ?? []), stored?.family ?? ''].join(' ')}).` });
  }
  if (patient.birthDate !== doc.person.birthDate) {
    problems.push({ pointer: '/person/birthDate', code: 'business-rule', rule: 'person', message: `/person/birthDate does not match the birth date in the person's PCSP (${patient.birthDate ?? 'none'}).` });
  }
  return problems;
}

/**
 * A BSP is `partOf` its PCSP and an ISP `basedOn` its PCSP (and BSP), found by plan id: they must
 * be stored first, and be plans of that type. Said here with the document's pointer, instead of
 * as a conditional reference of the transaction that matches nothing.
 */
async function missingLinkedPlans(doc: PlanDocument, store: PlanStore): Promise<DocumentProblem[]> {
  if (doc.documentType === 'pcsp') {
    return [];
  }
  const links: { pointer: string; planId: string; type: DocumentType }[] = [
    { pointer: '/pcspPlanId', planId: doc.pcspPlanId, type: 'pcsp' },
    ...(doc.documentType === 'isp' && doc.bspPlanId !== undefined ? [{ pointer: '/bspPlanId', planId: doc.bspPlanId, type: 'bsp' as const }] : []),
  ];
  const problems: DocumentProblem[] = [];
  for (const link of links) {
    const plan = await store.findPlan(link.planId);
    const name = link.type.toUpperCase();
    if (!plan) {
      problems.push({ pointer: link.pointer, code: 'not-found', rule: 'reference', message: `${link.pointer} ${link.planId}: no ${name} with this plan id is stored; import it first.` });
    } else if (!plan.category?.some((c) => c.coding?.some((coding) => coding.system === codeSystem.planType && coding.code === link.type))) {
      problems.push({ pointer: link.pointer, code: 'business-rule', rule: 'reference', message: `${link.pointer} ${link.planId} is not a ${name}.` });
    }
  }
  return problems;
}

function authorOf(doc: PlanDocument): string {
  switch (doc.documentType) {
    case 'pcsp':
      return doc.supportPlanner.name;
    case 'bsp':
      return doc.author.name;
    case 'isp':
      return doc.careCoordinator.name;
  }
}

/**
 * One Provenance per import that writes anything: which resources the document created or
 * changed, when, and who wrote the document (https://hl7.org/fhir/R4/provenance.html). Not part
 * of the document round trip; a re-import that changes nothing adds none.
 */
export function withProvenance(transaction: DocumentTransaction, doc: PlanDocument, isUpdate: boolean, recorded: string): DocumentTransaction {
  const entries = transaction.bundle.entry ?? [];
  if (entries.length === 0) {
    return transaction;
  }
  const provenance: Provenance & { id: string } = {
    resourceType: 'Provenance',
    id: randomUUID(),
    target: entries.map((e) => ({ reference: e.fullUrl ?? `${e.resource?.resourceType}/${e.resource?.id}` })),
    recorded,
    activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: isUpdate ? 'UPDATE' : 'CREATE' }] },
    agent: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' }] },
        who: { display: authorOf(doc) },
      },
    ],
    entity: [{ role: 'source', what: { display: `${doc.documentType.toUpperCase()} document ${doc.planId}` } }],
  };
  return {
    // A PUT under a new id, so that it is written after every other entry (a transaction writes
    // its POSTs before its PUTs): the server then completes it with the versions they wrote.
    bundle: { ...transaction.bundle, entry: [...entries, { resource: provenance, request: { method: 'PUT', url: `Provenance/${provenance.id}` } }] },
    entryPointers: [...transaction.entryPointers, ''],
  };
}

/** Search criteria for the CarePlan of a planId (for PlanStore.findPlan implementations). */
export function planSearchCriteria(planId: string): string {
  return `identifier=${encodeURIComponent(`${identifierSystem.planId}|${planId}`)}`;
}
