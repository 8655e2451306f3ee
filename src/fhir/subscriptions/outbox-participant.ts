import type { Subscription } from '@medplum/fhirtypes';
import { outboxStatements, type LaneStatus, type LaneWrite, type OutboxEvent } from '../../store/subscription-store.ts';
import type { WriteParticipant } from '../../store/write-participant.ts';
import type { SubscriptionRegistry } from './subscription-registry.ts';
import { HEARTBEAT_PERIOD } from './subscription-spec.ts';

/**
 * The subscription outbox as a write participant: with every version a transaction writes, an
 * event row for each subscription it triggers (judged in process against the version's content,
 * see SubscriptionRegistry.matching), and the lane of every Subscription written, in the write's
 * own statement — a committed change always has its events, a rolled-back one never does
 * (docs/architecture.md, "Subscriptions"). A version of a type nothing subscribes to costs a map
 * lookup and adds no statement.
 */
export function createSubscriptionOutbox(registry: SubscriptionRegistry): WriteParticipant {
  return {
    name: 'subscription outbox',
    statementsFor(versions, bind) {
      const lanes: LaneWrite[] = [];
      const events: OutboxEvent[] = [];
      for (const version of versions) {
        if (version.resourceType === 'Subscription') {
          lanes.push(laneOf(version.id, version.resource as Subscription | undefined));
        }
        if (registry.candidates(version.resourceType).length === 0) continue;
        const interaction = !version.resource ? 'delete' : version.replaces ? 'update' : 'create';
        for (const matched of registry.matching(version.resourceType, interaction, version.resource)) {
          events.push({ subscriptionId: matched.spec.id, resourceType: version.resourceType, resourceId: version.id, versionId: version.versionId, interaction });
        }
      }
      if (lanes.length > 0) registry.invalidate();
      return lanes.length === 0 && events.length === 0 ? [] : outboxStatements(lanes, events, bind);
    },
  };
}

function laneOf(id: string, subscription: Subscription | undefined): LaneWrite {
  if (!subscription) return { subscriptionId: id };
  let origin = '';
  try {
    origin = new URL(subscription.channel?.endpoint ?? '').origin;
  } catch {
    // An endpoint that is no URL never passes the subscription rule; a lane without origin just never delivers.
  }
  const heartbeat = subscription.channel?.extension?.find((e) => e.url === HEARTBEAT_PERIOD)?.valueUnsignedInt;
  return { subscriptionId: id, status: (subscription.status ?? 'requested') as LaneStatus, endpointOrigin: origin, heartbeatSeconds: heartbeat || undefined };
}
