import type { Resource } from '@medplum/fhirtypes';
import { SYSTEM_ACCESS } from '../../auth/access.ts';
import type { FhirContext } from '../context.ts';
import type { WriteInteraction } from './write-rule.ts';

/** A write as its consequences see it: done, inside the still open SQL transaction. */
export interface WrittenChange {
  readonly interaction: WriteInteraction;
  readonly resourceType: string;
  readonly id: string;
  /** The version before; undefined for a create. */
  readonly previous?: Resource;
  /** The version as stored (meta.versionId set); undefined for a delete. */
  readonly next?: Resource;
}

/**
 * What the server writes because of a write (issue 16 "Exchanges": the change-of-needs Task when
 * a PCSP changes, closing it when an ISP integrates the version, the shape of an ANE report).
 * A consequence runs inside writeResource's transaction, after the version is written; what it
 * writes goes through writeResource again (rules, participants, consequences), so it commits or
 * rolls back with the write that caused it. Where several writes of one transaction make one
 * change (a document import writes the plan and its goals, needs and services), a consequence
 * collects them and writes once, in a step queued with `repo.beforeCommit`.
 * docs/architecture.md, "Write consequences".
 */
export interface WriteConsequence {
  readonly name: string;
  /** The resource types whose writes it follows (the others never open a transaction for it). */
  readonly resourceTypes: ReadonlySet<string>;
  /**
   * Whether creating this resource can have a consequence; false only where `follow` would do
   * nothing with its create. A create no consequence concerns stays one statement (no
   * transaction): a plain Goal or ServiceRequest that names no plan item, for instance.
   */
  concernsCreated(resource: Resource): boolean;
  follow(change: WrittenChange, ctx: FhirContext): Promise<void>;
}

/** Whether any consequence follows the create of this resource. */
export function followed(ctx: FhirContext, created: Resource): boolean {
  return ctx.writeConsequences.some((c) => c.resourceTypes.has(created.resourceType) && c.concernsCreated(created));
}

export async function followWrite(ctx: FhirContext, change: WrittenChange): Promise<void> {
  for (const consequence of ctx.writeConsequences) {
    if (consequence.resourceTypes.has(change.resourceType)) await consequence.follow(change, ctx);
  }
}

/**
 * The context the server's own writes run in: the same transaction, as the local administrator
 * (role rules do not apply to what the server derives; the Task state machine and validation
 * still do). The caller who caused it is named in what is written (requester, Provenance).
 */
export function serverWriting(ctx: FhirContext): FhirContext {
  // Not folded into a document import's Provenance: what the server derives has its own.
  return { ...ctx, access: SYSTEM_ACCESS, documentProvenance: undefined };
}
