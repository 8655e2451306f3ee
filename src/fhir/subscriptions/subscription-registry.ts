import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { callerOf, decideAccess, type AccessDecision } from '../../auth/access-policy.ts';
import { parseScopes } from '../../auth/scopes.ts';
import type { SearchParameterRegistry } from '../../conformance/search-parameters.ts';
import { extractIndexRows, matchesContent, reachesResource, type IndexRows } from '../../search/index.ts';
import type { Database } from '../../store/database.ts';
import { acknowledgeSubscriptions, forgetProcess, subscriptionsGeneration, type SubscriptionVersion } from '../../store/subscription-registries.ts';
import { readLiveContent, readStoredSubscriptions } from '../../store/subscription-store.ts';
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
 * (a cheap generation query every `refreshMs`, which also renews this process's liveness row).
 * After each load that holds a `requested` Subscription version, the registry acknowledges it in
 * the database: the delivery worker hand-shakes (requested → active) only once every live process
 * has, so from activation on every process matches it (docs/architecture.md, "Subscriptions").
 */
export class SubscriptionRegistry {
  /** This registry's row in subscription_process: host, pid and a random part (several servers may share one Node process in tests). */
  readonly processId = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private byType = new Map<string, ActiveSubscription[]>();
  private generation = '';
  private loading: Promise<void> | undefined;
  private stale = true;
  private timer: NodeJS.Timeout | undefined;
  /** Set by `start`: only a started registry takes part in activation (liveness and acknowledgements). */
  private refreshMs: number | undefined;
  private stopped = false;
  /** The requested Subscription versions of the last load, and those already acknowledged in the database. */
  private requested: SubscriptionVersion[] = [];
  private readonly acknowledged = new Set<string>();

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

  /** Records this process as live, loads, and keeps checking every `refreshMs` for Subscriptions other processes wrote. */
  async start(refreshMs: number): Promise<void> {
    this.refreshMs = refreshMs;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((err: unknown) => this.logger.error({ err }, 'subscriptions: reload failed')), refreshMs);
    this.timer.unref();
  }

  /** Stops refreshing and removes this process's liveness row, so no handshake waits for it. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.stopped || this.refreshMs === undefined) return;
    this.stopped = true;
    while (this.loading) await this.loading.catch(() => undefined);
    await forgetProcess(this.db, this.processId).catch((err: unknown) => this.logger.warn({ err }, 'subscriptions: could not remove this process from the live ones'));
  }

  private async load(): Promise<void> {
    if (this.stopped) return;
    const registryProcess = this.refreshMs === undefined ? undefined : { processId: this.processId, refreshMs: this.refreshMs };
    const { generation, newlyAlive } = await subscriptionsGeneration(this.db, registryProcess);
    // Recorded afresh (first load, or pruned while this process was stalled): acknowledge everything again.
    if (newlyAlive) this.acknowledged.clear();
    if (this.stale || generation !== this.generation) {
      this.stale = false;
      await this.reload();
      this.generation = generation;
    }
    if (registryProcess) await this.acknowledge(registryProcess.processId);
  }

  private async reload(): Promise<void> {
    const byType = new Map<string, ActiveSubscription[]>();
    const requested: SubscriptionVersion[] = [];
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
      if (subscription.status === 'requested') requested.push({ id: spec.id, versionId: Number(subscription.meta?.versionId) });
    }
    this.byType = byType;
    this.requested = requested;
  }

  /**
   * Acknowledges the requested versions this registry matches from now on — after `byType` holds
   * them, so every write composed afterwards in this process matches them. A one-statement write
   * composed just before is already waiting for a connection of the same pool, whose checkout is
   * first come, first served, so it reaches the database before this acknowledgement does.
   */
  private async acknowledge(processId: string): Promise<void> {
    const keys = new Set(this.requested.map((v) => `${v.id}/${v.versionId}`));
    // Versions no longer requested (activated, changed, deleted) need no acknowledgement any more.
    for (const key of this.acknowledged) if (!keys.has(key)) this.acknowledged.delete(key);
    const fresh = this.requested.filter((v) => !this.acknowledged.has(`${v.id}/${v.versionId}`));
    if (fresh.length === 0) return;
    await acknowledgeSubscriptions(this.db, processId, fresh);
    for (const v of fresh) this.acknowledged.add(`${v.id}/${v.versionId}`);
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
