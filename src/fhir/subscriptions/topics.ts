import fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The SubscriptionTopics kanplan ships, as data in `profiles/topics/` (R5 SubscriptionTopic JSON:
 * R4 has no such resource, so the Subscriptions Backport IG has R4 servers advertise topic
 * canonicals in the CapabilityStatement, http://hl7.org/fhir/uv/subscriptions-backport/components.html).
 * A topic's trigger is a resource type, the interactions that fire it and optional criteria on the
 * new version (`queryCriteria.current`); an event trigger names an event the server finds itself
 * (authorization-expiring); its `canFilterBy` lists the filters a Subscription may use.
 */
export interface SubscriptionTopic {
  readonly resourceType: 'SubscriptionTopic';
  readonly id: string;
  readonly url: string;
  readonly title: string;
  readonly description: string;
  readonly resourceTrigger: readonly TopicTrigger[];
  /** Named events that are no write (R5 SubscriptionTopic.eventTrigger): time-based ones, found by a recurring job. */
  readonly eventTrigger?: readonly TopicEventTrigger[];
  readonly canFilterBy: readonly { readonly resource: string; readonly filterParameter: string; readonly description?: string }[];
}

export interface TopicTrigger {
  readonly resource: string;
  readonly supportedInteraction: readonly ('create' | 'update' | 'delete')[];
  readonly queryCriteria?: { readonly current?: string };
}

export interface TopicEventTrigger {
  readonly description: string;
  readonly event: { readonly coding: readonly { readonly system: string; readonly code: string }[] };
  readonly resource: string;
}

const topicsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'profiles', 'topics');

let loaded: readonly SubscriptionTopic[] | undefined;

/** The shipped topics, read once per process. */
export function shippedTopics(): readonly SubscriptionTopic[] {
  loaded ??= fs
    .readdirSync(topicsDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(fs.readFileSync(join(topicsDir, file), 'utf8')) as SubscriptionTopic);
  return loaded;
}

export function topicByUrl(url: string): SubscriptionTopic | undefined {
  const bare = url.split('|')[0];
  return shippedTopics().find((topic) => topic.url === bare);
}
