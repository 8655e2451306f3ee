import { randomUUID } from 'node:crypto';
import { OperationOutcomeError } from '@medplum/core';
import type { Bundle, BundleEntry, BundleEntryResponse, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../../conformance/base-definitions.ts';
import { requireAccess } from '../access/caller-access.ts';
import { type FhirContext, withRepo } from '../context.ts';
import { BearerTokenError, FhirError, badRequest, conflict, informational, notFound, outcomeOf, statusOf } from '../../outcomes.ts';
import type { Repository } from '../../store/repository.ts';
import { ConcurrentCreateError } from '../../store/store-errors.ts';
import { withStoreOutcome } from '../store-outcomes.ts';
import { preferReturn, type FhirRequest, type FhirResponse, type PreferReturn } from '../request.ts';
import { type BundleRequestEntry, expectRequestBundle, parseBundleEntry, statusLine } from './bundle-entries.ts';
import { conditionalMatches, findConditionalMatches, lockAndMatchConditionalCriteria, lockKey, singleMatch, type KnownMatches } from './conditional.ts';
import { createResource, locationOf } from './create.ts';
import { readCurrentResource, resourceResponse } from './read.ts';
import { collectReferences, parseConditionalReference, rewritePlaceholders } from './reference-rewrite.ts';
import { patchResource } from './patch.ts';
import { expectResourceBody } from './resource-body.ts';
import { updateResource } from './update.ts';

type Dispatch = (ctx: FhirContext, request: FhirRequest) => Promise<FhirResponse>;

function responseEntry(ctx: FhirContext, response: FhirResponse, prefer: PreferReturn): BundleEntry {
  const entryResponse: BundleEntryResponse = {
    status: statusLine(response.status),
    location: response.location,
    etag: response.etag,
    lastModified: response.lastModified,
  };
  if (prefer === 'OperationOutcome' && response.outcome) {
    entryResponse.outcome = response.outcome;
  }
  const resource = prefer === 'representation' ? response.resource : undefined;
  return {
    fullUrl: resource?.id ? `${ctx.config.baseUrl}/${resource.resourceType}/${resource.id}` : undefined,
    resource,
    response: entryResponse,
  };
}

/** Re-throws an entry's failure naming the entry, so the client knows which one to fix. */
function entryFailure(err: unknown, entry: BundleRequestEntry): FhirError {
  const outcome: OperationOutcome = outcomeOf(err);
  const label = `Bundle.entry[${entry.index}] (${entry.request.method} ${entry.request.path || '/'})`;
  const issues = (outcome.issue ?? []).map((issue) => ({
    ...issue,
    diagnostics: `${label}: ${issue.diagnostics ?? issue.details?.text ?? ''}`,
    details: { text: `${label}: ${issue.details?.text ?? issue.diagnostics ?? ''}` },
    expression: (issue.expression ?? ['']).map((expr) => entryExpression(expr, entry.index)),
  }));
  // A token that lacks a scope for one entry keeps its bearer challenge (the scope to ask for).
  return err instanceof BearerTokenError ? new BearerTokenError(statusOf(err), issues, err.challenge) : new FhirError(statusOf(err), issues);
}

/**
 * An issue's FHIRPath rebased onto the entry (https://hl7.org/fhir/R4/operationoutcome-definitions.html#OperationOutcome.issue.expression):
 * `Task.status` -> `Bundle.entry[1].resource.status`, `Task` (the whole resource, e.g. a root
 * invariant) -> `Bundle.entry[1].resource`, no expression -> `Bundle.entry[1]`.
 */
function entryExpression(expression: string, index: number): string {
  if (expression.startsWith('Bundle.entry[')) {
    return expression;
  }
  const entry = `Bundle.entry[${index}]`;
  if (expression === '') {
    return entry;
  }
  // A leading resource type name (uppercase, up to the end or the first '.') is the entry's resource.
  const rest = expression.replace(/^[A-Z][A-Za-z]*(?=$|\.)/, '');
  return rest === '' ? `${entry}.resource` : `${entry}.resource${rest.startsWith('.') ? rest : `.${rest}`}`;
}

async function guarded<T>(entry: BundleRequestEntry, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (thrown) {
    // A queued create meets its conflict when a later statement is sent, maybe in another
    // entry: it is named by the key it lost (createRaceFailure), not by the entry running now.
    if (thrown instanceof ConcurrentCreateError) throw thrown;
    const err = withStoreOutcome(thrown);
    // An unexpected failure goes up as it is, so that it is logged whole and answered 500.
    if (!(err instanceof OperationOutcomeError)) throw err;
    throw entryFailure(err, entry);
  }
}

/**
 * The resources the transaction names by id (PUT, PATCH, DELETE Type/id) and the criteria of its
 * conditional entries (DELETE, and POST/PUT/PATCH whose criteria need no placeholder), locked at
 * its start in one sorted statement: two transactions that write the same resources or criteria
 * in different orders then wait for each other instead of deadlocking. A conditional DELETE runs
 * first of all entries (http.html#trules) and so takes its lock before anything else does.
 */
async function lockTargetsAndCriteria(repo: Repository, entries: readonly BundleRequestEntry[]): Promise<void> {
  const targets = entries.filter((e) => e.request.method !== 'POST' && e.request.method !== 'GET' && e.request.method !== 'HEAD' && /^[A-Za-z]+\/[^/?]+$/.test(e.request.path));
  const criteria = entries.filter((e) => e.request.method !== 'GET' && e.request.method !== 'HEAD').flatMap(conditionalCriteriaOf);
  // One named target alone needs no lock: its row lock (read under FOR UPDATE) orders it.
  if (targets.length > 1 || criteria.length > 0) {
    await repo.lock([...targets.map((e) => `resource ${e.request.path}`), ...criteria.map((c) => lockKey(c.resourceType, c.criteria))]);
  }
}

/** What a POST or PUT entry will be stored as, decided before anything is written. */
interface PlannedWrite {
  readonly entry: BundleRequestEntry;
  readonly resourceType: string;
  readonly id: string;
  /** A conditional create that matched: nothing is written, the match is returned. */
  readonly existing: boolean;
  /** The id was generated here, so nothing is stored under it: written as a create. */
  readonly fresh?: boolean;
}

function typeOfPath(entry: BundleRequestEntry): string {
  const resourceType = entry.request.path.split('/')[0];
  if (!isKnownResourceType(resourceType)) {
    // 404 like the same request outside a bundle (router.ts assertResourceType).
    throw notFound(`Unknown resource type ${JSON.stringify(resourceType)} in request.url; resource types are case-sensitive, e.g. CarePlan.`, `Bundle.entry[${entry.index}].request.url`);
  }
  return resourceType;
}

/** An entry's criteria as the router reads them (router.ts criteriaOf), so that their lock names agree. */
function criteriaOf(entry: BundleRequestEntry): string {
  return new URLSearchParams(entry.request.query.filter(([name]) => name !== '_format' && name !== '_pretty').map(([k, v]) => [k, v])).toString();
}

/** The criteria a write entry will search with, when known before planning (no placeholders in them). */
function conditionalCriteriaOf(entry: BundleRequestEntry): { resourceType: string; criteria: string }[] {
  const resourceType = entry.request.path.split('/')[0];
  const criteria = entry.request.method === 'POST' ? entry.request.headers.ifNoneExist?.replace(/^.*\?/, '') : entry.request.path.includes('/') ? undefined : criteriaOf(entry);
  return criteria && !criteria.includes('urn:') ? [{ resourceType, criteria }] : [];
}

/** `Type/id` a DELETE entry removes: its URL's, or the single match of its criteria (else none). */
async function deletedIdentity(ctx: FhirContext, entry: BundleRequestEntry): Promise<string | undefined> {
  const [resourceType, id] = entry.request.path.split('/');
  if (id !== undefined) return `${resourceType}/${id}`;
  if (!isKnownResourceType(resourceType) || criteriaOf(entry) === '') return undefined; // dispatch() reports it
  const matches = await findConditionalMatches(ctx, resourceType, criteriaOf(entry));
  return matches.length === 1 ? `${resourceType}/${matches[0]}` : undefined;
}

/**
 * "If any resource identities (including resolved identities from conditional update/delete)
 * overlap in steps 1-3, then the transaction SHALL fail" (https://hl7.org/fhir/R4/http.html#trules):
 * the outcome of two writes of one resource would depend on the processing order.
 */
function assertNoOverlap(touched: readonly { readonly identity: string; readonly entry: BundleRequestEntry }[]): void {
  const first = new Map<string, BundleRequestEntry>();
  for (const { identity, entry } of touched) {
    const earlier = first.get(identity);
    if (earlier) {
      throw badRequest(
        `Bundle.entry[${earlier.index}] (${earlier.request.method}) and Bundle.entry[${entry.index}] (${entry.request.method}) both write ${identity}; a transaction may write each resource once, so combine them into one entry.`,
        `Bundle.entry[${entry.index}].request.url`,
      );
    }
    first.set(identity, entry);
  }
}

/** Decides the id of each POST/PUT/PATCH entry and maps fullUrls to them. */
async function planWrites(ctx: FhirContext, entries: readonly BundleRequestEntry[], ids: Map<string, string>, known: KnownMatches): Promise<PlannedWrite[]> {
  const plans: PlannedWrite[] = [];
  for (const entry of entries) {
    const plan = await guarded(entry, async (): Promise<PlannedWrite> => {
      const resourceType = typeOfPath(entry);
      const segments = entry.request.path.split('/');
      const method = entry.request.method;
      // Written directly rather than through dispatch(), so the scope check happens here.
      await requireAccess(ctx, resourceType, method === 'POST' ? 'c' : 'u');
      if (method === 'POST') {
        expectResourceBody(entry.request.body, resourceType);
        const criteria = entry.request.headers.ifNoneExist;
        if (criteria !== undefined) {
          const match = singleMatch(
            await conditionalMatches(ctx, known, resourceType, rewritePlaceholders(criteria.replace(/^.*\?/, ''), ids)),
            resourceType,
            criteria,
          );
          if (match) return { entry, resourceType, id: match, existing: true };
        }
        return { entry, resourceType, id: randomUUID(), existing: false };
      }
      if (segments.length >= 2) {
        return { entry, resourceType, id: segments[1], existing: false };
      }
      const criteria = rewritePlaceholders(criteriaOf(entry), ids);
      const match = singleMatch(await conditionalMatches(ctx, known, resourceType, criteria), resourceType, criteria);
      if (!match && method === 'PATCH') {
        throw new FhirError(404, [{ severity: 'error', code: 'not-found', diagnostics: `No ${resourceType} matches ${criteria}; nothing to patch.` }]);
      }
      const bodyId = (entry.request.body as Resource | undefined)?.id;
      if (match ?? bodyId) {
        return { entry, resourceType, id: (match ?? bodyId) as string, existing: false };
      }
      // Nothing matched and the body names no id: a new resource under a new UUID.
      return { entry, resourceType, id: randomUUID(), existing: false, fresh: true };
    });
    if (entry.fullUrl) {
      ids.set(entry.fullUrl, `${plan.resourceType}/${plan.id}`);
    }
    plans.push(plan);
  }
  return plans;
}

/** Resolves `Type?criteria` references to the single matching resource (or fails the bundle). */
async function resolveConditionalReferences(ctx: FhirContext, entries: readonly BundleRequestEntry[], ids: Map<string, string>): Promise<void> {
  for (const entry of entries) {
    const body = entry.request.body;
    if (!body || typeof body !== 'object') continue;
    for (const { reference, path } of collectReferences(body, 'resource')) {
      if (ids.has(reference)) continue;
      if (reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:')) {
        throw entryFailure(
          badRequest(`${path} is ${reference}, which is not the fullUrl of any entry in this transaction.`, `Bundle.entry[${entry.index}].${path}`),
          entry,
        );
      }
      const conditional = parseConditionalReference(reference);
      if (!conditional) continue;
      const matches = await guarded(entry, () => findConditionalMatches(ctx, conditional.resourceType, conditional.criteria));
      if (matches.length !== 1) {
        throw entryFailure(
          new FhirError(412, [{
            severity: 'error',
            code: matches.length ? 'multiple-matches' : 'not-found',
            diagnostics: `The conditional reference ${reference} at ${path} matches ${matches.length} resources; it must match exactly one.`,
            expression: [`Bundle.entry[${entry.index}].${path}`],
          }]),
          entry,
        );
      }
      ids.set(reference, `${conditional.resourceType}/${matches[0]}`);
    }
  }
}

async function writePlanned(ctx: FhirContext, plan: PlannedWrite, ids: ReadonlyMap<string, string>): Promise<FhirResponse> {
  const { entry, resourceType, id } = plan;
  const request = entry.request;
  if (plan.existing) {
    const resource = await readCurrentResource(ctx, resourceType, id);
    return { ...resourceResponse(resource), location: locationOf(ctx, resource), outcome: informational(`${resourceType}/${id} already matches If-None-Exist; nothing was created.`) };
  }
  const body = rewritePlaceholders(request.body, ids);
  if (request.method === 'POST' || (plan.fresh && request.method === 'PUT')) {
    return createResource(ctx, expectResourceBody(body, resourceType), id);
  }
  if (request.method === 'PATCH') {
    return patchResource(ctx, resourceType, id, request.contentType, body, request.headers.ifMatch);
  }
  const resource = expectResourceBody(body, resourceType);
  if (resource.id !== undefined && resource.id !== id) {
    throw badRequest(`The resource id ${resource.id} does not match request.url (${resourceType}/${id}).`, `${resourceType}.id`);
  }
  return updateResource(ctx, { ...resource, id }, request.headers.ifMatch);
}

/**
 * transaction: https://hl7.org/fhir/R4/http.html#transaction. All entries in one SQL
 * transaction, processed in the spec's order (DELETE, POST, PUT/PATCH, GET); placeholder and
 * conditional references are resolved before anything is written; any failure rolls back
 * everything and the error names the entry.
 */
async function processTransaction(ctx: FhirContext, entries: BundleRequestEntry[], prefer: PreferReturn, dispatch: Dispatch): Promise<Bundle> {
  let plans: readonly PlannedWrite[] = [];
  try {
    return await ctx.repo.transaction(async (repo) => runTransaction(ctx, repo, entries, prefer, dispatch, (planned) => {
      plans = planned;
    }));
  } catch (err) {
    throw err instanceof ConcurrentCreateError ? await createRaceFailure(ctx, err, plans) : err;
  }
}

/**
 * A create of the transaction lost the race for its id to a concurrent request (the primary key
 * decided at write time, https://hl7.org/fhir/R4/http.html#concurrency): 409, naming the entry
 * that created it. The whole transaction was rolled back; it can be sent again as it is.
 */
async function createRaceFailure(ctx: FhirContext, err: ConcurrentCreateError, plans: readonly PlannedWrite[]): Promise<unknown> {
  // The transaction's creates go in one statement, so the error names all of them; the entry that
  // lost is the one whose id now exists (committed by the concurrent request).
  const candidates = plans.filter((p) => !p.existing && err.keys.includes(`${p.resourceType}/${p.id}`));
  let plan: PlannedWrite | undefined;
  for (const candidate of candidates) {
    if (await ctx.repo.readCurrent(candidate.resourceType, candidate.id)) {
      plan = candidate;
      break;
    }
  }
  const outcome = withStoreOutcome(err);
  if (!plan) return outcome;
  return entryFailure(
    conflict(`${plan.resourceType}/${plan.id} was created by a concurrent request while this transaction ran; nothing of the transaction was written: retry it.`),
    plan.entry,
  );
}

async function runTransaction(
  ctx: FhirContext,
  repo: Repository,
  entries: BundleRequestEntry[],
  prefer: PreferReturn,
  dispatch: Dispatch,
  planned: (plans: readonly PlannedWrite[]) => void,
): Promise<Bundle> {
  const scoped = withRepo(ctx, repo);
  await lockTargetsAndCriteria(repo, entries);
  const results = new Map<number, BundleEntry>();
  const byMethod = (...methods: string[]): BundleRequestEntry[] => entries.filter((e) => methods.includes(e.request.method));
  const record = (entry: BundleRequestEntry, response: FhirResponse): void => {
    results.set(entry.index, responseEntry(ctx, response, prefer));
  };

  const touched: { identity: string; entry: BundleRequestEntry }[] = [];
  for (const entry of byMethod('DELETE')) {
    // Resolved before the delete: afterwards its criteria match nothing.
    const identity = await guarded(entry, () => deletedIdentity(scoped, entry));
    if (identity) touched.push({ identity, entry });
    record(entry, await guarded(entry, () => dispatch(scoped, entry.request)));
  }
  const ids = new Map<string, string>();
  const writes = [...byMethod('POST'), ...byMethod('PUT', 'PATCH')];
  const known = await lockAndMatchConditionalCriteria(scoped, writes.flatMap(conditionalCriteriaOf));
  const plans = await planWrites(scoped, writes, ids, known);
  planned(plans);
  // A conditional create that matched writes nothing; every other plan writes its resource.
  assertNoOverlap([...touched, ...plans.filter((plan) => !plan.existing).map((plan) => ({ identity: `${plan.resourceType}/${plan.id}`, entry: plan.entry }))]);
  await resolveConditionalReferences(scoped, plans.map((plan) => plan.entry), ids);
  // The current versions of everything it updates, read under lock in one statement rather
  // than one per entry (a re-imported document updates every resource it holds).
  const updated = plans.filter((plan) => !plan.existing && !plan.fresh && plan.entry.request.method !== 'POST');
  await repo.lockCurrent(updated.map((plan) => ({ resourceType: plan.resourceType, id: plan.id })));
  for (const plan of plans) {
    record(plan.entry, await guarded(plan.entry, () => writePlanned(scoped, plan, ids)));
  }
  for (const entry of byMethod('GET', 'HEAD')) {
    record(entry, await guarded(entry, () => dispatch(scoped, entry.request)));
  }
  return {
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: entries.map((entry) => results.get(entry.index) as BundleEntry),
  };
}

/** batch: https://hl7.org/fhir/R4/http.html#batch. Each entry on its own; failures don't affect others. */
async function processBatch(ctx: FhirContext, bundle: Bundle, prefer: PreferReturn, dispatch: Dispatch): Promise<Bundle> {
  const entry: BundleEntry[] = [];
  for (const [index, raw] of (bundle.entry ?? []).entries()) {
    try {
      const parsed = parseBundleEntry(raw, index, ctx.config.baseUrl);
      if (parsed.request.method === 'POST' && parsed.request.path === '') {
        throw badRequest('A batch entry may not itself be a batch or transaction.');
      }
      const response = await dispatch(ctx, parsed.request);
      entry.push(responseEntry(ctx, response, prefer));
    } catch (err) {
      const status = statusOf(err);
      if (status >= 500) {
        ctx.logger.error({ err, entry: index }, 'batch entry failed');
      }
      entry.push({ response: { status: statusLine(status), outcome: outcomeOf(err) } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry };
}

export async function processBundle(ctx: FhirContext, request: FhirRequest, dispatch: Dispatch): Promise<FhirResponse> {
  const bundle = expectRequestBundle(request.body, ctx.config.maxBundleEntries);
  const prefer = preferReturn(request);
  if (bundle.type === 'batch') {
    return { status: 200, resource: await processBatch(ctx, bundle, prefer, dispatch) };
  }
  const entries = (bundle.entry ?? []).map((entry, index) => parseBundleEntry(entry, index, ctx.config.baseUrl));
  const nested = entries.find((entry) => entry.request.method === 'POST' && entry.request.path === '');
  if (nested) {
    throw badRequest(`Bundle.entry[${nested.index}] posts a Bundle to the base URL; transactions cannot be nested.`, `Bundle.entry[${nested.index}]`);
  }
  return { status: 200, resource: await processTransaction(ctx, entries, prefer, dispatch) };
}
