import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { callerOf, decideAccess, type AccessDecision } from '../../auth/access-policy.ts';
import { parseScopes } from '../../auth/scopes.ts';
import type { SearchParameterRegistry } from '../../conformance/search-parameters.ts';
import { extractIndexRows, matchesContent, reachesResource, type IndexRows } from '../../search/index.ts';
import type { Database } from '../../store/database.ts';
import { readLiveContent, readStoredSubscriptions, subscriptionsGeneration } from '../../store/subscription-store.ts';
import { readSubscription, type SubscriptionSpec, type SubscriptionTrigger, type TriggerInteraction } from './subscription-spec.ts';

/** A subscription ready to match: its spec and what its owner may read of each triggering type. */
export interface ActiveSubscription {
  readonly spec: SubscriptionSpec;
  readonly readAccess: ReadonlyMap<string, AccessDecision>;
}

const MATCHING_STATUSES = new Set(['requested', 'active', 'error']);

/**
 * The Subscriptions of the database that record events (requested, active or error — an `off` one
 * records nothing), indexed by triggering resource type and kept per process, so that matching a
 * write costs a map lookup when nothing subscribes to its type. Reloaded when a Subscription is
 * written here (`invalidate`, from the outbox participant) and when another process wrote one
 * (a cheap generation query every `refreshMs`); the delivery worker reloads before a handshake, so
 * a Subscription is matched in this process before it turns active.
 */
export class SubscriptionRegistry {
  private byType = new Map<string, ActiveSubscription[]>();
  private generation = '';
  private loading: Promise<void> | undefined;
  private stale = true;
  private timer: NodeJS.Timeout | undefined;

  private readonly db: Database;
  private readonly parameters: SearchParameterRegistry;
  private readonly baseUrl: string;
  private readonly logger: Logger;

  constructor(db: Database, parameters: SearchParameterRegistry, baseUrl: string, logger: Logger) {
    this.db = db;
    this.parameters = parameters;
    this.baseUrl = baseUrl;
    this.logger = logger;
  }

  /** Subscriptions triggering on `resourceType` (none: an empty list, no allocation). */
  candidates(resourceType: string): readonly ActiveSubscription[] {
    return this.byType.get(resourceType) ?? [];
  }

  /** Subscriptions that trigger on this version: interaction, criteria, and the owner's read access. */
  matching(resourceType: string, interaction: TriggerInteraction, resource: (Resource & { id: string }) | undefined): ActiveSubscription[] {
    return this.judge(resourceType, resource, (t) => t.interactions.has(interaction));
  }

  /** Subscriptions whose topic has the named event (eventTrigger) for this resource: criteria and the owner's read access. */
  matchingEvent(event: string, resource: Resource & { id: string }): ActiveSubscription[] {
    return this.judge(resource.resourceType, resource, (t) => t.event === event);
  }

  private judge(resourceType: string, resource: (Resource & { id: string }) | undefined, fires: (trigger: SubscriptionTrigger) => boolean): ActiveSubscription[] {
    const candidates = this.candidates(resourceType);
    if (candidates.length === 0) return [];
    const matched: ActiveSubscription[] = [];
    // The version's index rows, extracted once for all candidates (100 subscriptions on one type cost one extraction).
    let rows: IndexRows | undefined;
    for (const candidate of candidates) {
      const trigger = candidate.spec.triggers.find((t) => t.resourceType === resourceType && fires(t));
      if (!trigger) continue;
      // A delete has no content to judge: it notifies subscriptions without conditions only.
      if (!resource) {
        if (trigger.criteria.conditions.length > 0) continue;
      } else if (trigger.criteria.conditions.length > 0) {
        rows ??= extractIndexRows(this.parameters, resource, { baseUrl: this.baseUrl });
        if (!matchesContent(this.parameters, trigger.criteria, resource, {}, rows)) continue;
      }
      if (!this.mayRead(candidate, resourceType, resource)) continue;
      matched.push(candidate);
    }
    return matched;
  }

  private mayRead(candidate: ActiveSubscription, resourceType: string, resource: Resource | undefined): boolean {
    const decision = candidate.readAccess.get(resourceType);
    if (!decision || decision.kind === 'denied') return false;
    if (decision.kind === 'unconfined') return true;
    return resource !== undefined && decision.confinements.some((c) => reachesResource(this.parameters, resource, { patients: c.patients, criteria: c.criteria }, this.baseUrl) === true);
  }

  /** A Subscription was written in this process: reload once its transaction has had time to commit. */
  invalidate(): void {
    this.stale = true;
    setImmediate(() => void this.refresh().catch((err: unknown) => this.logger.error({ err }, 'subscriptions: reload failed')));
  }

  /** Reloads when anything changed (or was invalidated); concurrent calls share one load. */
  async refresh(): Promise<void> {
    while (this.loading) await this.loading;
    this.loading = this.load().finally(() => (this.loading = undefined));
    await this.loading;
  }

  /** Loads now and keeps checking every `refreshMs` for Subscriptions other processes wrote. */
  async start(refreshMs: number): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((err: unknown) => this.logger.error({ err }, 'subscriptions: reload failed')), refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    const generation = await subscriptionsGeneration(this.db);
    if (!this.stale && generation === this.generation) return;
    this.stale = false;
    const byType = new Map<string, ActiveSubscription[]>();
    for (const content of await readStoredSubscriptions(this.db)) {
      const subscription = JSON.parse(content) as Subscription;
      if (!MATCHING_STATUSES.has(subscription.status ?? '')) continue;
      const spec = readSubscription(this.parameters, subscription);
      if ('problems' in spec) {
        this.logger.warn({ subscription: subscription.id, problems: spec.problems }, 'subscription cannot be matched');
        continue;
      }
      const active: ActiveSubscription = { spec, readAccess: await this.readAccessOf(spec) };
      for (const type of new Set(spec.triggers.map((t) => t.resourceType))) {
        byType.set(type, [...(byType.get(type) ?? []), active]);
      }
    }
    this.byType = byType;
    this.generation = generation;
  }

  /**
   * The owner's read decision per triggering type. A Subscription without an owner was written by
   * the server's own tooling (not through the FHIR API, whose write rule always records one) and
   * reads everything.
   */
  private async readAccessOf(spec: SubscriptionSpec): Promise<Map<string, AccessDecision>> {
    const decisions = new Map<string, AccessDecision>();
    const owner = spec.owner;
    for (const { resourceType } of spec.triggers) {
      if (!owner) {
        decisions.set(resourceType, { kind: 'unconfined' });
        continue;
      }
      const access = { subject: owner.subject, scopes: parseScopes(owner.scopes), fhirUser: owner.fhirUser, patient: owner.patient };
      const caller = await callerOf(access, async (type, id) => {
        const content = await readLiveContent(this.db, type, id);
        return content === undefined ? undefined : JSON.parse(content);
      });
      decisions.set(resourceType, decideAccess(caller, resourceType, 'r', this.parameters));
    }
    return decisions;
  }
}
