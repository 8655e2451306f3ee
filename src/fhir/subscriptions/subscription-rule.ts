import type { Subscription } from '@medplum/fhirtypes';
import type { AccessContext } from '../../auth/access.ts';
import type { WriteRule } from '../writes/write-rule.ts';
import { OWNER, ownerExtension, readSubscription, type OwnerAccess } from './subscription-spec.ts';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Subscriptions the server can honour, with the elements the server keeps set by it
 * (http://hl7.org/fhir/uv/subscriptions-backport/workflow.html):
 * - criteria, filters, channel and payload content it supports (else 422 naming what to change);
 *   an endpoint over https, or http on loopback when SUBSCRIPTION_HTTP_LOOPBACK allows it;
 * - the status: a new rest-hook Subscription is `requested` until its handshake succeeds; a client
 *   setting an `error` (or `off`) one back to active asks for a new handshake, after which delivery
 *   resumes where it stopped; `off` stops it; `error` is the server's to set;
 * - the owner: the access of the token that wrote it (scopes, fhirUser, patient), kept on the
 *   resource, so that it notifies only about what that token may read.
 */
export const subscriptionRule: WriteRule = {
  name: 'Subscription',
  check(write, ctx) {
    if (write.resourceType !== 'Subscription' || !write.next) return { issues: [] };
    const next = write.next as Subscription;
    const spec = readSubscription(ctx.conformance.searchParameters, next);
    const problems = 'problems' in spec ? [...spec.problems] : [];
    const endpoint = next.channel?.endpoint;
    if (endpoint && !problems.length) {
      const url = new URL(endpoint);
      const plainAllowed = ctx.config.subscriptions.allowHttpLoopback && LOOPBACK.has(url.hostname);
      if (url.protocol !== 'https:' && !plainAllowed) {
        problems.push(`Subscription.channel.endpoint ${endpoint} must use https (plain http is accepted only for loopback hosts in development, SUBSCRIPTION_HTTP_LOOPBACK).`);
      }
    }
    if (problems.length > 0) {
      return { issues: problems.map((diagnostics) => ({ severity: 'error', code: 'not-supported', diagnostics })), rejectionStatus: 422 };
    }
    const previous = write.previous as Subscription | undefined;
    const status = nextStatus(previous?.status, next.status);
    const { error: _error, ...rest } = next;
    const revised: Subscription = {
      ...rest,
      status,
      // The last error stays while the status is error; a new handshake clears it.
      ...(status === 'error' && previous?.error ? { error: previous.error } : {}),
      extension: [...(next.extension ?? []).filter((e) => e.url !== OWNER), ownerExtension(ownerOf(write.caller))],
    };
    return { issues: [], revised };
  },
};

function nextStatus(previous: Subscription['status'] | undefined, asked: Subscription['status'] | undefined): NonNullable<Subscription['status']> {
  if (asked === 'off') return 'off';
  if (asked === 'error') return previous ?? 'requested';
  return previous === 'active' && asked === 'active' ? 'active' : 'requested';
}

function ownerOf(caller: AccessContext): OwnerAccess {
  return {
    subject: caller.subject,
    scopes: caller.scopes.map(
      (grant) => grant.text ?? `${grant.context}/${grant.resourceType}.${['c', 'r', 'u', 'd', 's'].filter((p) => grant.permissions.has(p as 'r')).join('')}${grant.criteria ? `?${grant.criteria}` : ''}`,
    ),
    fhirUser: caller.fhirUser,
    patient: caller.patient,
  };
}
