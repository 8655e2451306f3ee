import type { OperationDefinition, OperationDefinitionParameter, Subscription } from '@medplum/fhirtypes';
import { badRequest, notFound } from '../../outcomes.ts';
import { eventsInRange, laneReports } from '../../store/subscription-store.ts';
import type { FhirContext } from '../context.ts';
import { parameterValue, type FhirOperation, type OperationCall } from '../operations/operation.ts';
import { notificationBundle, type NotifiedEvent } from './notification.ts';
import { readSubscription, type PayloadContent, type SubscriptionSpec } from './subscription-spec.ts';

/** Most events one `$events` answer carries. */
const MAX_EVENTS = 1000;

function definition(code: string, description: string, parameter: OperationDefinitionParameter[]): OperationDefinition & { code: string } {
  return {
    resourceType: 'OperationDefinition',
    id: `Backport-subscription-${code}`,
    url: `http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-${code}`,
    name: code,
    status: 'active',
    kind: 'operation',
    code,
    description,
    resource: ['Subscription'],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter,
  };
}

const param = (name: string, use: 'in' | 'out', type: string, max = '1'): OperationDefinitionParameter => ({ name, use, min: 0, max, type: type as 'string' });

async function subscriptionOf(ctx: FhirContext, call: OperationCall): Promise<SubscriptionSpec> {
  const stored = await ctx.repo.readCurrent('Subscription', call.id ?? '');
  if (!stored || stored.deleted) throw notFound(`Subscription/${call.id} does not exist.`);
  const spec = readSubscription(ctx.conformance.searchParameters, stored.resource as Subscription);
  if ('problems' in spec) throw badRequest(`Subscription/${call.id} cannot be served: ${spec.problems.join(' ')}`);
  return spec;
}

/** Subscription/[id]/$status (Backport IG, Operations): the status Bundle, as the first entry of every notification. */
export const subscriptionStatusOperation: FhirOperation = {
  definition: definition('status', 'The status of a Subscription as a subscription-status notification Bundle (query-status).', [param('return', 'out', 'Bundle')]),
  async handle(ctx, call) {
    const spec = await subscriptionOf(ctx, call);
    const [lane] = await laneReports(ctx.repo.sql, spec.id);
    const bundle = notificationBundle({
      baseUrl: ctx.config.baseUrl, spec, type: 'query-status', status: spec.status, eventsSinceStart: lane?.eventsNumbered ?? 0, events: [], error: lane?.lastError,
    });
    return { status: 200, resource: { ...bundle, type: 'searchset', total: 1 } };
  },
};

/**
 * Subscription/[id]/$events (Backport IG): the events kept (undelivered, or delivered within
 * SUBSCRIPTION_RETENTION_HOURS) from eventsSinceNumber to eventsUntilNumber, at the subscription's
 * payload content or `content`: how a receiver that missed or doubts notifications recovers them.
 */
export const subscriptionEventsOperation: FhirOperation = {
  definition: definition('events', 'Replays the kept events of a Subscription by event number (query-event).', [
    param('eventsSinceNumber', 'in', 'string'),
    param('eventsUntilNumber', 'in', 'string'),
    param('content', 'in', 'code'),
    param('return', 'out', 'Bundle'),
  ]),
  async handle(ctx, call) {
    const spec = await subscriptionOf(ctx, call);
    const number = (name: string, fallback: number): number => {
      const raw = parameterValue(call.parameters, name);
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 0) throw badRequest(`${name} must be a whole event number, not ${String(raw)}.`);
      return value;
    };
    const content = parameterValue(call.parameters, 'content') as PayloadContent | undefined;
    if (content !== undefined && !['empty', 'id-only', 'full-resource'].includes(content)) {
      throw badRequest(`content must be empty, id-only or full-resource, not ${content}.`);
    }
    const [lane] = await laneReports(ctx.repo.sql, spec.id);
    const events = await eventsInRange(ctx.repo.sql, spec.id, number('eventsSinceNumber', 1), number('eventsUntilNumber', Number.MAX_SAFE_INTEGER), MAX_EVENTS);
    const notified: NotifiedEvent[] = await Promise.all(
      events.map(async (event) => ({
        event,
        resource: (content ?? spec.content) === 'full-resource' && event.interaction !== 'delete' ? (await ctx.repo.readVersion(event.resourceType, event.resourceId, event.versionId))?.resource : undefined,
      })),
    );
    const bundle = notificationBundle({ baseUrl: ctx.config.baseUrl, spec, type: 'query-event', status: spec.status, eventsSinceStart: lane?.eventsNumbered ?? 0, events: notified, content });
    return { status: 200, resource: bundle };
  },
};
