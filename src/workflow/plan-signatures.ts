import type { Contract, Resource } from '@medplum/fhirtypes';
import { profile, system } from './kansas-workflow.ts';

/**
 * A person or guardian signing their plan (issue 19, "a person or guardian reads their plan and
 * signs it"). The Kansas guide keeps a plan's signatures as eLTSS does: a KS Plan Signatures
 * Contract whose `topicReference` is the plan and whose `signer`s carry the ks-signer-role, the
 * party and the signature (shared/standards.md §1.4, "Person / Guardian … Signature → Contract.signer";
 * 42 CFR 441.301(c)(2)(ix): the plan is signed by the individual and those responsible for it).
 * Signing is one create of such a Contract; the signatures a document import wrote stay the
 * targeted case manager's.
 */

/** The person (or their guardian) signing: the reference that signs, the signer role it signs as, and the person whose plan it may be. */
export interface PlanSigner {
  readonly reference: string;
  readonly signerRole: 'person' | 'guardian';
  /** `Patient/<id>`; undefined when a guardian's RelatedPerson names no person. */
  readonly patient?: string;
}

export function isPlanSignatures(resource: Resource | undefined): resource is Contract {
  return resource?.resourceType === 'Contract' && (resource.meta?.profile ?? []).includes(profile.planSignatures);
}

/** The plan a KS Plan Signatures Contract signs, as `CarePlan/<id>` (a versioned reference without its version). */
export function signedPlanOf(contract: Contract): string | undefined {
  return /^(CarePlan\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(contract.topicReference?.reference ?? '')?.[1];
}

/**
 * Whether `next` is a new signature of `signer` on their own plan: a KS Plan Signatures Contract
 * about their person (`subject`), on a plan of that person (`planSubject`, the signed CarePlan's
 * subject as stored), every signer being `signer` in their own role and every signature theirs.
 */
export function signsOwnPlan(signer: PlanSigner, next: Resource | undefined, planSubject: string | undefined): boolean {
  if (!signer.patient || !isPlanSignatures(next)) return false;
  const subjects = next.subject ?? [];
  if (subjects.length !== 1 || subjects[0]?.reference !== signer.patient || planSubject !== signer.patient) return false;
  const signers = next.signer ?? [];
  return (
    signers.length > 0 &&
    signers.every(
      (s) =>
        s.party?.reference === signer.reference &&
        s.type?.system === system.signerRole &&
        s.type.code === signer.signerRole &&
        (s.signature ?? []).length > 0 &&
        (s.signature ?? []).every((signature) => signature.who?.reference === signer.reference),
    )
  );
}
