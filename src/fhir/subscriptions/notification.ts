import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import type { StoredEvent } from '../../store/subscription-store.ts';
import type { PayloadContent, SubscriptionSpec } from './subscription-spec.ts';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/** One event with the version it is about (present for full-resource, when that version still exists). */
export interface NotifiedEvent {
  readonly event: StoredEvent;
  readonly resource?: Resource;
}

export interface NotificationInput {
  readonly baseUrl: string;
  readonly spec: SubscriptionSpec;
  readonly type: NotificationType;
  readonly status: string;
  /** Events numbered so far (events-since-subscription-start). */
  readonly eventsSinceStart: number;
  readonly events: readonly NotifiedEvent[];
  /** Overrides the subscription's payload content (`$events?content=`). */
  readonly content?: PayloadContent;
  readonly error?: string;
}

const METHOD = { create: 'POST', update: 'PUT', delete: 'DELETE' } as const;

/**
 * A notification Bundle as the Backport IG defines it for R4
 * (http://hl7.org/fhir/uv/subscriptions-backport/notifications.html): type `history`, the first
 * entry a Parameters with the subscription status (subscription, topic, status, type, events since
 * start, one notification-event per event with its number, time and focus), then one entry per
 * event — none for `empty`, fullUrl and request only for `id-only`, the version itself for
 * `full-resource` (https://hl7.org/fhir/uv/subscriptions-backport/payloads.html).
 */
export function notificationBundle(input: NotificationInput): Bundle {
  const { baseUrl, spec, events } = input;
  const content = input.content ?? spec.content;
  const parameters: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${baseUrl}/Subscription/${spec.id}` } },
    ...(spec.topic ? [{ name: 'topic', valueCanonical: spec.topic }] : []),
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceStart) },
    ...events.map(({ event }) => ({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(event.eventNumber) },
        { name: 'timestamp', valueInstant: event.occurredAt },
        ...(content === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: `${baseUrl}/${event.resourceType}/${event.resourceId}/_history/${event.versionId}` } }]),
      ],
    })),
    ...(input.error ? [{ name: 'error', valueCodeableConcept: { text: input.error } }] : []),
  ];
  const status: Parameters = { resourceType: 'Parameters', parameter: parameters };
  const entries: BundleEntry[] =
    content === 'empty'
      ? []
      : events.map(({ event, resource }) => ({
          fullUrl: `${baseUrl}/${event.resourceType}/${event.resourceId}`,
          ...(content === 'full-resource' && resource ? { resource } : {}),
          // A named event (authorization-expiring) is no write: its entry reads the version it is about.
          request: { method: METHOD[event.interaction as keyof typeof METHOD] ?? 'GET', url: `${event.resourceType}/${event.resourceId}` },
          response: { status: event.interaction === 'create' ? '201' : '200' },
        }));
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: status,
        request: { method: 'GET', url: `${baseUrl}/Subscription/${spec.id}/$status` },
        response: { status: '200' },
      },
      ...entries,
    ],
  };
}
