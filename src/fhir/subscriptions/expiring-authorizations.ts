import type { ServiceRequest } from '@medplum/fhirtypes';
import type { JobHandler } from '../../jobs/job-runner.ts';
import { queueNamedEvent } from '../../store/subscription-store.ts';
import { profile } from '../../workflow/kansas-workflow.ts';
import type { FhirContext } from '../context.ts';

export const EXPIRING_AUTHORIZATIONS_JOB = 'authorization-expiring-events';
/** The named event of the service-authorization topic (profiles/topics, eventTrigger). */
export const AUTHORIZATION_EXPIRING = 'authorization-expiring';

const DAY_MS = 86_400_000;
/** Authorizations looked at per run; a larger backlog is taken by the next runs (each version notifies once). */
const PER_RUN = 5_000;
const DEFAULT_WINDOW_DAYS = 30;

const day = (at: number): string => new Date(at).toISOString().slice(0, 10);

/**
 * issue 18 "service authorized/denied/expiring": an expiry is no write, so nothing in the write
 * path can notify it. This check finds the active KS Authorized Services whose occurrencePeriod
 * ends within AUTHORIZATION_EXPIRING_DAYS of `asOf` (the work list the README gives, "authorizations
 * expiring in 30 days") and queues the topic's `authorization-expiring` event for every
 * Subscription it matches — filters and the owner's read access judged on the current version, as
 * for a write — once per authorization version: an authorization extended by a new version
 * notifies again when that one nears its end. Returns how many authorizations were queued.
 */
export async function queueExpiringAuthorizations(ctx: FhirContext, asOf: number): Promise<number> {
  const registry = ctx.subscriptions;
  if (!registry || registry.candidates('ServiceRequest').length === 0) return 0;
  const today = day(asOf);
  const untilMs = asOf + (ctx.config.subscriptions.authorizationExpiringDays ?? DEFAULT_WINDOW_DAYS) * DAY_MS;
  const until = day(untilMs);
  // Periods reaching today and ending before the day after the window (R4 search.html#prefix `eb`).
  const query = `_profile=${encodeURIComponent(profile.authorizedService)}&status=active&occurrence=ge${today}&occurrence=eb${day(untilMs + DAY_MS)}`;
  let queued = 0;
  for (const id of await ctx.search.findMatchingIds(ctx.repo, 'ServiceRequest', query, PER_RUN)) {
    const stored = await ctx.repo.readCurrent('ServiceRequest', id);
    if (!stored || stored.deleted) continue;
    const authorization = stored.resource as ServiceRequest & { id: string };
    // The search's period comparison is about overlap; the event is about the end itself.
    const end = authorization.occurrencePeriod?.end?.slice(0, 10);
    if (!end || end < today || end > until) continue;
    const matched = registry.matchingEvent(AUTHORIZATION_EXPIRING, authorization);
    if (matched.length === 0) continue;
    const version = { resourceType: 'ServiceRequest', id, versionId: Number(authorization.meta?.versionId) };
    queued += Number(await queueNamedEvent(ctx.repo.db, AUTHORIZATION_EXPIRING, version, matched.map((m) => m.spec.id)));
  }
  return queued;
}

/**
 * The recurring job, queued once per REMINDER_JOB_EVERY_MINUTES with the plan-review reminders
 * (src/jobs/ RecurringJob); safe when two run at once: each version's event is queued once.
 */
export function expiringAuthorizationsJob(ctx: FhirContext): JobHandler {
  return {
    kind: EXPIRING_AUTHORIZATIONS_JOB,
    async run(job) {
      const { at } = JSON.parse(job.input) as { at?: string };
      return JSON.stringify({ queued: await queueExpiringAuthorizations(ctx, at ? Date.parse(at) : Date.now()) });
    },
  };
}
