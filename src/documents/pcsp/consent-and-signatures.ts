import type { Consent, Contract, Extension, Resource } from '@medplum/fhirtypes';
import type { InformedConsent } from '../common-types.ts';
import { codeSystem, consentPolicy, consentSignatureCode, extensionUrl, externalSystem, profileUrl, signerRoleCode } from '../canonical.ts';
import { informedConsentFrom, informedConsentResource, subExtension } from '../mapping/fhir-elements.ts';
import type { PlanContext, PlannedResource } from '../mapping/plan-context.ts';
import { ofKind, requireValue } from '../mapping/stored-plan.ts';
import type { DistributionRecipient, PcspDocument, Signature } from './pcsp-types.ts';
import { decisionMakerName } from './person.ts';

/**
 * Agreement to the PCSP: the person's written informed consent ↔ a KS Informed Consent, the
 * signatures ↔ KS Plan Signatures (Contract), and who got a copy ↔ the KS Plan Distribution
 * extension (42 CFR 441.301(c)(2)).
 */

function invert<K extends string, V extends string>(map: Readonly<Record<K, V>>, value: string | undefined, what: string): K {
  const key = (Object.keys(map) as K[]).find((k) => map[k] === value);
  return requireValue(key, what);
}

export function planConsentResource(ctx: PlanContext<PcspDocument>): PlannedResource {
  const planConsentId = ctx.item('consent', 'plan');
  return {
    resource: informedConsentResource({
      policy: consentPolicy.personCenteredPlan,
      identifier: planConsentId,
      consent: ctx.doc.informedConsent,
      patient: ctx.patient,
      decisionMakerName: decisionMakerName(ctx.doc),
      about: [ctx.plan],
    }),
    identifier: planConsentId,
    pointer: '/informedConsent',
  };
}

/** eLTSS Plan Signatures → Contract.signer (KS Plan Signatures). */
export function signaturesResource(ctx: PlanContext<PcspDocument>): PlannedResource {
  const identifier = ctx.item('signatures', 'plan');
  const resource: Contract = {
    resourceType: 'Contract',
    meta: { profile: [profileUrl.planSignatures] },
    identifier: [identifier],
    status: 'executed',
    subject: [ctx.patient],
    topicReference: ctx.plan,
    signer: ctx.doc.signatures.map((signature) => ({
      type: { system: codeSystem.signerRole, code: signerRoleCode[signature.role] },
      party: { display: signature.name },
      signature: [
        {
          type: [
            { system: externalSystem.signatureType, code: consentSignatureCode },
            { system: codeSystem.planElement, code: `signature-${signature.method}` },
          ],
          when: `${signature.date}T00:00:00Z`,
          who: { display: signature.name },
        },
      ],
    })),
  };
  return { resource, identifier, pointer: '/signatures' };
}

export function distributionExtensions(doc: PcspDocument): Extension[] {
  return doc.distribution.map((recipient) => ({
    url: extensionUrl.planDistribution,
    extension: [
      { url: 'recipient', valueString: recipient.name },
      { url: 'role', valueCode: recipient.role },
      { url: 'method', valueCode: recipient.method },
      { url: 'date', valueDate: recipient.date },
    ],
  }));
}

export function distributionFrom(extension: Extension): DistributionRecipient {
  return {
    name: requireValue(subExtension(extension, 'recipient').valueString, 'a recipient'),
    role: requireValue(subExtension(extension, 'role').valueCode, 'a recipient role') as DistributionRecipient['role'],
    method: requireValue(subExtension(extension, 'method').valueCode, 'a distribution method') as DistributionRecipient['method'],
    date: requireValue(subExtension(extension, 'date').valueDate, 'a distribution date'),
  };
}

export function signaturesFrom(contract: Contract | undefined): Signature[] {
  return requireValue(contract, 'the plan signatures').signer?.map((signer) => {
    const signature = signer.signature?.[0];
    const method = signature?.type?.find((t) => t.system === codeSystem.planElement)?.code?.replace(/^signature-/, '');
    return {
      name: requireValue(signer.party?.display, 'a signer name'),
      role: invert(signerRoleCode, signer.type?.code, 'a signer role'),
      date: requireValue(signature?.when, 'a signature date').slice(0, 10),
      method: requireValue(method, 'a signature method') as Signature['method'],
    };
  }) ?? [];
}

/** `supporting`: the resources of CarePlan.supportingInfo. */
export function planConsentFrom(supporting: readonly Resource[]): InformedConsent {
  return informedConsentFrom(ofKind<Consent>(supporting, 'Consent', 'consent')[0]);
}
