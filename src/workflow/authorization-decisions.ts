import type { Extension, Quantity, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { codeIn, extension, profile, system } from './kansas-workflow.ts';

/**
 * The MCO's decision on a planned service, as a KS Authorized Service carries it (issue 16 "Service
 * authorization"): approved, partially approved or denied, the last two with a reason. The three
 * outcomes are X12 306's A1/A2/A3 that Da Vinci PAS uses (shared/standards.md §4); CMS-0057-F asks
 * for a specific reason on every denial. A denial is written as a KS Authorized Service with status
 * `revoked` (no activity may follow) and 0 units, so "active authorizations" stay a plain search.
 */
export type AuthorizationDecision = 'approved' | 'partially-approved' | 'denied';

export const DECISION_WORDS: Readonly<Record<AuthorizationDecision, string>> = {
  approved: 'Approved',
  'partially-approved': 'Partially approved',
  denied: 'Denied',
};

export interface DecisionOf {
  readonly decision: AuthorizationDecision;
  /** The reason's text, else its code's display or code. */
  readonly reason?: string;
}

/** A KS Authorized Service: claims the profile or carries an authorization number. */
export function isAuthorizedService(resource: Resource | undefined): resource is ServiceRequest {
  if (resource?.resourceType !== 'ServiceRequest') return false;
  return (
    resource.meta?.profile?.includes(profile.authorizedService) === true ||
    resource.identifier?.some((id) => codeIn(id.type, system.identifierType) === 'authorization-number') === true
  );
}

function decisionExtension(service: ServiceRequest): Extension | undefined {
  return service.extension?.find((e) => e.url === extension.authorizationDecision);
}

/** The decision an authorization records; no decision extension means approved (the profile's default). */
export function decisionOf(service: ServiceRequest): DecisionOf {
  const parts = decisionExtension(service)?.extension ?? [];
  const code = parts.find((e) => e.url === 'decision')?.valueCode;
  const decision: AuthorizationDecision = code === 'partially-approved' || code === 'denied' ? code : 'approved';
  const reason = parts.find((e) => e.url === 'reason')?.valueCodeableConcept;
  const words = reason?.text ?? reason?.coding?.[0]?.display ?? reason?.coding?.[0]?.code;
  return words ? { decision, reason: words } : { decision };
}

export function authorizationNumberOf(service: ServiceRequest): string | undefined {
  return service.identifier?.find((id) => codeIn(id.type, system.identifierType) === 'authorization-number')?.value;
}

function decisive(service: ServiceRequest | undefined): string | undefined {
  if (!service) return undefined;
  return JSON.stringify([decisionOf(service), service.status, service.quantityQuantity, service.occurrencePeriod, authorizationNumberOf(service)]);
}

/** Whether a write made or changed a decision: a new authorization, or a changed decision, units, period, status or number. */
export function decisionChanged(previous: Resource | undefined, next: Resource | undefined): next is ServiceRequest {
  if (!isAuthorizedService(next)) return false;
  return decisive(isAuthorizedService(previous) ? previous : undefined) !== decisive(next);
}

function quantityWords(quantity: Quantity | undefined): string {
  return quantity?.value === undefined ? 'no units' : `${quantity.value} ${quantity.code ?? quantity.unit ?? 'units'}`;
}

function plannedWords(planned: ServiceRequest | undefined): string | undefined {
  if (planned?.quantityQuantity) return quantityWords(planned.quantityQuantity);
  const ratio = planned?.quantityRatio;
  if (!ratio?.numerator) return undefined;
  const per = ratio.denominator ? ` per ${ratio.denominator.value ?? 1} ${ratio.denominator.code ?? ratio.denominator.unit ?? ''}`.trimEnd() : '';
  return `${quantityWords(ratio.numerator)}${per}`;
}

function serviceWords(service: ServiceRequest): string {
  const code = service.code?.coding?.[0];
  return [code?.code, service.code?.text ?? code?.display].filter(Boolean).join(' ') || 'the service';
}

/**
 * The decision in one line for the TCM, e.g. "Partially approved: T2021 Day Supports, 1040 15-min
 * from 2026-10-01 to 2027-09-30 (planned: 40 15-min per 1 wk), authorization AUTH-2. Reason: …".
 */
export function decisionSummary(authorization: ServiceRequest, planned?: ServiceRequest): string {
  const { decision, reason } = decisionOf(authorization);
  const period = authorization.occurrencePeriod;
  const when = period ? ` from ${period.start ?? '?'} to ${period.end ?? '?'}` : '';
  const units = decision === 'denied' ? '' : `, ${quantityWords(authorization.quantityQuantity)}${when}`;
  const plan = plannedWords(planned);
  const number = authorizationNumberOf(authorization);
  return (
    `${DECISION_WORDS[decision]}: ${serviceWords(planned ?? authorization)}${units}` +
    `${plan ? ` (planned: ${plan})` : ''}${number ? `, authorization ${number}` : ''}.` +
    `${reason ? ` Reason: ${reason}.` : ''}`
  );
}

/** Task.businessStatus of the TCM's Task: the decision as a coding (shared/standards.md §4: "authorized"/"denied" on the Task). */
export function decisionStatus(decision: AuthorizationDecision): { coding: { system: string; code: string; display: string }[]; text: string } {
  return { coding: [{ system: system.authorizationDecision, code: decision, display: DECISION_WORDS[decision] }], text: DECISION_WORDS[decision] };
}

/**
 * What a decision lacks, as the sentence a 422 says, or undefined: a partial approval or denial
 * states its reason (CMS-0057-F "specific reason", shared/standards.md §4; the guide's
 * ks-authdec-1), and a denial is `revoked` so that no activity follows and "active authorizations"
 * stay a plain search.
 */
export function decisionProblem(service: ServiceRequest): string | undefined {
  const { decision, reason } = decisionOf(service);
  if (decision !== 'approved' && !reason) {
    return `a ${decision} decision states its reason: add {"url": "reason", "valueCodeableConcept": {"coding": [{"system": "${system.authorizationDecisionReason}", "code": "…"}], "text": "…"}} to the ${extension.authorizationDecision} extension`;
  }
  if (decision === 'denied' && service.status !== 'revoked') {
    return `a denied authorization has status 'revoked' (no activity may follow), not '${service.status}'`;
  }
  return undefined;
}
