import type { Extension, Subscription } from '@medplum/fhirtypes';
import type { SearchParameterRegistry } from '../../conformance/search-parameters.ts';
import { parseContentCriteria, type ContentCriteria } from '../../search/index.ts';
import { topicByUrl } from './topics.ts';

/** Canonicals of the Subscriptions Backport IG (http://hl7.org/fhir/uv/subscriptions-backport/). */
export const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const FILTER_CRITERIA = `${BACKPORT}/backport-filter-criteria`;
export const PAYLOAD_CONTENT = `${BACKPORT}/backport-payload-content`;
export const HEARTBEAT_PERIOD = `${BACKPORT}/backport-heartbeat-period`;
export const TIMEOUT = `${BACKPORT}/backport-timeout`;
export const MAX_COUNT = `${BACKPORT}/backport-max-count`;
/** Where the server keeps whose access a Subscription notifies with (set by the subscription write rule). */
export const OWNER = 'https://kanplan.org/fhir/StructureDefinition/subscription-owner';

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
export type TriggerInteraction = 'create' | 'update' | 'delete';

/** What a Subscription triggers on for one resource type: interactions and criteria on the new version. */
export interface SubscriptionTrigger {
  readonly resourceType: string;
  readonly interactions: ReadonlySet<TriggerInteraction>;
  /** A named event of the topic (eventTrigger code) instead of interactions. */
  readonly event?: string;
  readonly criteria: ContentCriteria;
}

/** The access a Subscription notifies with: its owner's token claims, kept on the resource. */
export interface OwnerAccess {
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly fhirUser?: string;
  readonly patient?: string;
}

/** A stored Subscription as the registry, the matcher and the delivery workers use it. */
export interface SubscriptionSpec {
  readonly id: string;
  readonly status: 'requested' | 'active' | 'error' | 'off';
  /** The topic canonical (topic-based), or undefined for classic R4 criteria. */
  readonly topic?: string;
  readonly triggers: readonly SubscriptionTrigger[];
  readonly endpoint: string;
  readonly headers: readonly (readonly [string, string])[];
  /** channel.payload: the Content-Type of notifications. */
  readonly contentType: string;
  readonly content: PayloadContent;
  readonly heartbeatSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly maxCount: number;
  readonly owner?: OwnerAccess;
}

/** R4 JSON's extensions on primitives (`_criteria`, `channel._payload`), which the Backport IG uses; @medplum/fhirtypes does not declare them. */
interface PrimitiveExtensions {
  readonly _criteria?: { readonly extension?: readonly Extension[] };
  readonly channel?: { readonly _payload?: { readonly extension?: readonly Extension[] } };
}

const ALL_INTERACTIONS: ReadonlySet<TriggerInteraction> = new Set(['create', 'update', 'delete']);

function extensionValue(extensions: readonly Extension[] | undefined, url: string): Extension | undefined {
  return extensions?.find((e) => e.url === url);
}

function positive(extension: Extension | undefined): number | undefined {
  const value = extension?.valueUnsignedInt ?? extension?.valuePositiveInt ?? extension?.valueInteger ?? (extension?.valueDecimal as number | undefined);
  return typeof value === 'number' && value > 0 ? value : undefined;
}

export function ownerOf(subscription: Subscription): OwnerAccess | undefined {
  const owner = extensionValue(subscription.extension, OWNER);
  if (!owner) return undefined;
  const strings = (name: string): string[] => (owner.extension ?? []).filter((e) => e.url === name && typeof e.valueString === 'string').map((e) => e.valueString as string);
  return { subject: strings('subject')[0] ?? 'unknown', scopes: strings('scope'), fhirUser: strings('fhirUser')[0], patient: strings('patient')[0] };
}

export function ownerExtension(owner: OwnerAccess): Extension {
  return {
    url: OWNER,
    extension: [
      { url: 'subject', valueString: owner.subject },
      ...owner.scopes.map((scope) => ({ url: 'scope', valueString: scope })),
      ...(owner.fhirUser ? [{ url: 'fhirUser', valueString: owner.fhirUser }] : []),
      ...(owner.patient ? [{ url: 'patient', valueString: owner.patient }] : []),
    ],
  };
}

/**
 * Reads a Subscription into its spec, or the problems that make it unusable (messages that say
 * what to fix). Classic R4 criteria (`Task?owner=…`) trigger on every create, update and delete
 * of the type matching them; a topic canonical (Backport IG) triggers as the topic says, narrowed
 * by `backport-filter-criteria` the topic allows (the IG: a server SHALL reject filters it cannot
 * support, http://hl7.org/fhir/uv/subscriptions-backport/components.html#subscription-filters).
 */
export function readSubscription(parameters: SearchParameterRegistry, subscription: Subscription): SubscriptionSpec | { problems: string[] } {
  const problems: string[] = [];
  const channel = subscription.channel;
  if (channel?.type !== 'rest-hook') {
    problems.push(`Subscription.channel.type ${channel?.type ?? '(none)'} is not supported: this server delivers rest-hook channels only.`);
  }
  const endpoint = channel?.endpoint ?? '';
  if (!/^https?:\/\//.test(endpoint)) {
    problems.push('Subscription.channel.endpoint must be an absolute http(s) URL to POST notifications to.');
  }
  const headers: [string, string][] = [];
  for (const header of channel?.header ?? []) {
    const colon = header.indexOf(':');
    const name = colon > 0 ? header.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      problems.push(`Subscription.channel.header "${header}" is not an HTTP header: write it as "Name: value".`);
    } else {
      headers.push([name, header.slice(colon + 1).trim()]);
    }
  }
  const contentCode = extensionValue((subscription as PrimitiveExtensions).channel?._payload?.extension, PAYLOAD_CONTENT)?.valueCode;
  if (contentCode !== undefined && !['empty', 'id-only', 'full-resource'].includes(contentCode)) {
    problems.push(`backport-payload-content ${contentCode} is not supported: use empty, id-only or full-resource.`);
  }
  const contentType = channel?.payload ?? 'application/fhir+json';
  if (!/^application\/(fhir\+)?json\b/.test(contentType)) {
    problems.push(`Subscription.channel.payload ${contentType} is not supported: this server sends application/fhir+json.`);
  }
  const criteria = subscription.criteria ?? '';
  const filters = ((subscription as PrimitiveExtensions)._criteria?.extension ?? []).filter((e) => e.url === FILTER_CRITERIA).map((e) => e.valueString ?? '');
  const topic = topicByUrl(criteria);
  let triggers: SubscriptionTrigger[] = [];
  if (topic) {
    triggers = topicTriggers(parameters, topic, filters, problems);
  } else if (/^[a-z]+:\/\//i.test(criteria)) {
    problems.push(`Subscription.criteria ${criteria} is no topic this server offers (see the CapabilityStatement's subscriptiontopic-canonical extensions).`);
  } else {
    const [type, query = ''] = criteria.split('?', 2) as [string, string?];
    if (!parameters.paramsOf(type).size && type !== 'Patient') {
      problems.push(`Subscription.criteria must be a topic canonical or a search such as Task?owner=Organization/mco-1: ${criteria || '(empty)'} names no resource type.`);
    } else if (filters.length > 0) {
      problems.push('backport-filter-criteria applies to topic-based subscriptions; with classic criteria put the conditions in Subscription.criteria.');
    } else {
      const parsed = parseContentCriteria(parameters, type, query);
      if (typeof parsed === 'string') problems.push(`Subscription.criteria: ${parsed}.`);
      else triggers = [{ resourceType: type, interactions: ALL_INTERACTIONS, criteria: parsed }];
    }
  }
  if (problems.length > 0) return { problems };
  return {
    id: subscription.id ?? '',
    status: (subscription.status ?? 'requested') as SubscriptionSpec['status'],
    topic: topic?.url,
    triggers,
    endpoint,
    headers,
    contentType,
    // Classic R4: a payload means the resource is sent, none means an empty notification.
    content: (contentCode as PayloadContent | undefined) ?? (topic ? 'id-only' : channel?.payload ? 'full-resource' : 'empty'),
    heartbeatSeconds: positive(extensionValue(channel?.extension, HEARTBEAT_PERIOD)),
    timeoutSeconds: positive(extensionValue(channel?.extension, TIMEOUT)),
    maxCount: positive(extensionValue(channel?.extension, MAX_COUNT)) ?? 1,
    owner: ownerOf(subscription),
  };
}

function topicTriggers(parameters: SearchParameterRegistry, topic: NonNullable<ReturnType<typeof topicByUrl>>, filters: readonly string[], problems: string[]): SubscriptionTrigger[] {
  const parsedFilters: { type?: string; query: string; name: string }[] = [];
  for (const filter of filters) {
    const match = /^(?:([A-Z][A-Za-z]+)\.)?([^=]+)=(.*)$/.exec(filter);
    const name = match?.[2].split(':')[0];
    const allowed = match && topic.canFilterBy.some((f) => f.filterParameter === name && (match[1] === undefined || f.resource === match[1]));
    if (!match || !allowed) {
      problems.push(`backport-filter-criteria "${filter}" is not a filter topic ${topic.url} offers (${topic.canFilterBy.map((f) => `${f.resource}.${f.filterParameter}`).join(', ')}).`);
      continue;
    }
    parsedFilters.push({ type: match[1], name: match[2], query: `${encodeURIComponent(match[2])}=${encodeURIComponent(match[3])}` });
  }
  const triggerOf = (resource: string, current: string | undefined, interactions: readonly TriggerInteraction[], event?: string): SubscriptionTrigger => {
    const type = resource.replace(/^.*\//, '');
    const own = parsedFilters.filter((f) => (f.type ?? type) === type && topic.canFilterBy.some((c) => c.resource === type && c.filterParameter === f.name.split(':')[0]));
    const query = [current, ...own.map((f) => f.query)].filter(Boolean).join('&');
    const parsed = parseContentCriteria(parameters, type, query);
    if (typeof parsed === 'string') {
      problems.push(`backport-filter-criteria: ${parsed}.`);
      return { resourceType: type, interactions: new Set(), criteria: { resourceType: type, conditions: [] } };
    }
    return { resourceType: type, interactions: new Set(interactions), ...(event ? { event } : {}), criteria: parsed };
  };
  return [
    ...topic.resourceTrigger.map((trigger) => triggerOf(trigger.resource, trigger.queryCriteria?.current, trigger.supportedInteraction)),
    // A named event is judged on the resource's current version with the same filters (R5 SubscriptionTopic.eventTrigger).
    ...(topic.eventTrigger ?? []).map((trigger) => triggerOf(trigger.resource, undefined, [], trigger.event.coding[0]?.code)),
  ];
}
