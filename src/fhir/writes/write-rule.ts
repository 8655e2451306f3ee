import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../auth/access.ts';
import { FhirError } from '../../outcomes.ts';
import type { FhirContext } from '../context.ts';

export type WriteInteraction = 'create' | 'update' | 'patch' | 'delete';

/** A write as the rules see it: after the previous version was read under lock, before anything is written. */
export interface ProposedWrite {
  readonly interaction: WriteInteraction;
  readonly resourceType: string;
  readonly id: string;
  /** The current version before this write; undefined for a new id or one whose last version is a delete. */
  readonly previous?: Resource;
  /** The version to be written; undefined for a delete. */
  readonly next?: Resource;
  /** Who writes, and what their access token allows. */
  readonly caller: AccessContext;
}

/** What a rule found: errors reject the write; warnings and information go into the response's OperationOutcome. */
export interface WriteRuleResult {
  readonly issues: readonly OperationOutcomeIssue[];
  /**
   * The status of a rejection: 400 for base FHIR rules, 422 for profiles and business rules, 403
   * for role rules, 409 for a state conflict (https://hl7.org/fhir/R4/http.html#Status-Codes).
   */
  readonly rejectionStatus?: number;
  /**
   * The next version as the rule completes it, for elements the server keeps rather than the
   * client (a Subscription's status and owner, src/fhir/subscriptions/subscription-rule.ts); the
   * rules after it and the store see this one.
   */
  readonly revised?: Resource;
}

/**
 * A rule every write must pass: base and profile validation today, the Task state machine and
 * role rules next. Rules return their findings as values; the write path turns errors into one
 * rejection, so a rule never answers HTTP itself.
 */
export interface WriteRule {
  readonly name: string;
  check(write: ProposedWrite, ctx: FhirContext): WriteRuleResult | Promise<WriteRuleResult>;
}

function isError(issue: OperationOutcomeIssue): boolean {
  return issue.severity === 'error' || issue.severity === 'fatal';
}

/**
 * Runs the rules in order. The first rule that finds errors rejects the write with its issues
 * and status; otherwise every rule's other issues are returned for the response, with the next
 * version as the rules revised it.
 */
export async function checkWriteRules(ctx: FhirContext, write: ProposedWrite): Promise<{ notes: OperationOutcomeIssue[]; next?: Resource }> {
  const notes: OperationOutcomeIssue[] = [];
  let current = write;
  for (const rule of ctx.writeRules) {
    const result = await rule.check(current, ctx);
    if (result.issues.some(isError)) {
      throw new FhirError(result.rejectionStatus ?? 422, [...result.issues]);
    }
    notes.push(...result.issues);
    if (result.revised && current.next) current = { ...current, next: result.revised };
  }
  return { notes, next: current.next };
}
