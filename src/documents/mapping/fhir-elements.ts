import type {
  CodeableConcept,
  Coding,
  Condition,
  Consent,
  Extension,
  HumanName as FhirHumanName,
  Identifier,
  Observation,
  ObservationComponent,
  Organization,
  Practitioner,
  PractitionerRole,
  Reference,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import { codeSystem, consentCategoryLoinc, externalSystem, identifierSystem, profileUrl } from '../canonical.ts';
import type { HumanName, InformedConsent, PlanStatus, Professional, ServiceProvider } from '../common-types.ts';
import { compact } from './optional-fields.ts';
import type { PlanContext } from './plan-context.ts';
import { requireValue } from './stored-plan.ts';

/** Small FHIR building blocks shared by the PCSP, BSP and ISP mappers, each with its reader. */

export function coding(system: string, code: string): Coding {
  return { system, code };
}

export function concept(system: string, code: string, text?: string): CodeableConcept {
  return text === undefined ? { coding: [coding(system, code)] } : { coding: [coding(system, code)], text };
}

export function codeIn(concepts: readonly CodeableConcept[] | CodeableConcept | undefined, system: string): string | undefined {
  const list = concepts === undefined ? [] : Array.isArray(concepts) ? concepts : [concepts as CodeableConcept];
  for (const c of list) {
    const found = c.coding?.find((x: Coding) => x.system === system)?.code;
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

export function humanNameToFhir(name: HumanName): FhirHumanName {
  return { family: name.family, given: [...name.given] };
}

export function humanNameFromFhir(name: FhirHumanName | undefined): HumanName {
  return { given: [...requireValue(name?.given, 'a given name')], family: requireValue(name?.family, 'a family name') };
}

export function fullName(name: HumanName): string {
  return [...name.given, name.family].join(' ');
}

/**
 * A single-string name split for profiles that require family (US Core Practitioner); `text`
 * keeps the name exactly as written so the document comes back unchanged.
 */
function professionalName(name: string): FhirHumanName {
  const parts = name.trim().split(/\s+/);
  return parts.length > 1 ? { text: name, family: parts[parts.length - 1], given: parts.slice(0, -1) } : { text: name, family: name };
}

/**
 * A professional named in a plan as contained PractitionerRole + Practitioner + Organization:
 * the document has no NPI for them, so there is nothing to match a shared resource on, and the
 * plan's own copy can never be confused with another plan's.
 */
export function containedProfessional(idPrefix: string, professional: Professional, roleCode: string): { contained: Resource[]; reference: Reference<never> } {
  const roleId = `${idPrefix}-role`;
  const practitioner: Practitioner = {
    resourceType: 'Practitioner',
    id: `${idPrefix}-practitioner`,
    name: [professionalName(professional.name)],
    ...(professional.phone ? { telecom: [{ system: 'phone', value: professional.phone }] } : {}),
  };
  const organization: Organization = { resourceType: 'Organization', id: `${idPrefix}-organization`, active: true, name: professional.organization };
  const role: PractitionerRole = {
    resourceType: 'PractitionerRole',
    id: roleId,
    meta: { profile: [profileUrl.practitionerRole] },
    active: true,
    practitioner: { reference: `#${practitioner.id}`, display: professional.name },
    organization: { reference: `#${organization.id}`, display: professional.organization },
    code: [concept(codeSystem.practitionerRole, roleCode)],
    ...(professional.phone ? { telecom: [{ system: 'phone', value: professional.phone }] } : {}),
  };
  return { contained: [role, practitioner, organization], reference: { reference: `#${roleId}`, display: professional.name } };
}

export function containedById(container: { contained?: Resource[] }, reference: Reference | undefined): Resource | undefined {
  const id = reference?.reference?.startsWith('#') ? reference.reference.slice(1) : undefined;
  return id === undefined ? undefined : container.contained?.find((r) => r.id === id);
}

export function professionalFrom(container: { contained?: Resource[] }, reference: Reference | undefined): Professional {
  const role = containedById(container, reference) as PractitionerRole | undefined;
  const practitioner = containedById(container, role?.practitioner) as Practitioner | undefined;
  const organization = containedById(container, role?.organization) as Organization | undefined;
  const phone = practitioner?.telecom?.find((t) => t.system === 'phone')?.value;
  return {
    name: requireValue(practitioner?.name?.[0]?.text, 'a professional name'),
    organization: requireValue(organization?.name, 'an organization name'),
    ...(phone ? { phone } : {}),
  };
}

export function professionalRoleCode(container: { contained?: Resource[] }, reference: Reference | undefined): string | undefined {
  const role = containedById(container, reference) as PractitionerRole | undefined;
  return codeIn(role?.code, codeSystem.practitionerRole);
}

/** The provider of a paid or authorized service as ServiceRequest.performer, with its KMMS id when known. */
export function providerPerformer(provider: ServiceProvider): Reference<never> {
  return { display: provider.name, ...(provider.kmmsId ? { identifier: { system: identifierSystem.kmmsId, value: provider.kmmsId } } : {}) };
}

export function providerFrom(performer: Reference | undefined): ServiceProvider {
  return compact({ name: requireValue(performer?.display, 'a provider name'), kmmsId: performer?.identifier?.value });
}

export function extensionValue(extensions: readonly Extension[] | undefined, url: string): Extension | undefined {
  return extensions?.find((e) => e.url === url);
}

export function extensionsOf(extensions: readonly Extension[] | undefined, url: string): Extension[] {
  return (extensions ?? []).filter((e) => e.url === url);
}

/** The one sub-extension `url` of a complex extension; missing is a StoredPlanError. */
export function subExtension(extension: Extension, url: string): Extension {
  return requireValue(extension.extension?.find((e) => e.url === url), `the ${url} of an extension`);
}

/**
 * A Condition the plan states (an assessed need, a target behavior, a health condition): active
 * and confirmed, in the person's record from the plan on.
 */
export function confirmedCondition(args: { identifier: Identifier; category: CodeableConcept[]; code: CodeableConcept; subject: Reference<never> }): Condition {
  return {
    resourceType: 'Condition',
    identifier: [args.identifier],
    clinicalStatus: concept(externalSystem.conditionClinical, 'active'),
    verificationStatus: concept(externalSystem.conditionVerification, 'confirmed'),
    category: args.category,
    code: args.code,
    subject: args.subject,
  };
}

/**
 * What every ServiceRequest of a plan element (ks-plan-element code: natural support, positive
 * behavior support, non-Medicaid resource) shares: based on the plan, with the plan's status, its
 * words as the code's text.
 */
export function planElementRequest(
  ctx: PlanContext<{ planId: string; status: PlanStatus }>,
  element: string,
  text: string,
): Pick<ServiceRequest, 'basedOn' | 'status' | 'intent' | 'category' | 'code' | 'subject'> {
  return {
    basedOn: [ctx.plan],
    status: ctx.doc.status,
    intent: 'plan',
    category: [concept(codeSystem.planElement, element)],
    code: { text },
    subject: ctx.patient,
  };
}

/** A component value of a plan-element Observation (ks-plan-element codes, see canonical.ts). */
export type ComponentValue = string | boolean;

export function planComponent(code: string, value: ComponentValue): ObservationComponent {
  const base = { code: concept(codeSystem.planElement, code) };
  return typeof value === 'boolean' ? { ...base, valueBoolean: value } : { ...base, valueString: value };
}

/**
 * An Observation holding one part of a plan as coded components (eLTSS puts strengths and
 * preferences in Observations referenced from CarePlan.supportingInfo; a list becomes one
 * Observation with one component per item, so a shorter list never leaves stale resources).
 */
export function planObservation(args: {
  identifier: Identifier;
  code: string;
  subject: Reference<never>;
  components: ObservationComponent[];
  effectiveDate?: string;
  value?: string;
}): Observation {
  return {
    resourceType: 'Observation',
    identifier: [args.identifier],
    status: 'final',
    category: [concept(externalSystem.observationCategory, 'social-history')],
    code: concept(codeSystem.planElement, args.code),
    subject: args.subject,
    ...(args.effectiveDate ? { effectiveDateTime: args.effectiveDate } : {}),
    ...(args.value !== undefined ? { valueString: args.value } : {}),
    ...(args.components.length > 0 ? { component: args.components } : {}),
  };
}

export function componentStrings(observation: Observation | undefined, code: string): string[] {
  return (observation?.component ?? [])
    .filter((c) => codeIn(c.code, codeSystem.planElement) === code)
    .map((c) => requireValue(c.valueString, `a text value for ${code}`));
}

export function componentString(observation: Observation | undefined, code: string): string {
  return requireValue(componentStrings(observation, code)[0], `the ${code} of the plan`);
}

export function componentBoolean(observation: Observation | undefined, code: string): boolean {
  const found = (observation?.component ?? []).find((c) => codeIn(c.code, codeSystem.planElement) === code);
  return requireValue(found?.valueBoolean, `the ${code} of the plan`);
}

/**
 * Written informed consent as a KS Informed Consent (42 CFR 441.301(c)(2) "written informed
 * consent"; K.A.R. 30-63-23(b)(1)(C) for restrictive interventions). The performer is the
 * Patient when the person consented, otherwise the named decision maker.
 */
export function informedConsentResource(args: {
  identifier: Identifier;
  consent: InformedConsent;
  /** The regulation the consent is given under (consentPolicy in canonical.ts). */
  policy: string;
  patient: Reference<never>;
  decisionMakerName?: string;
  about?: Reference<never>[];
}): Consent {
  const performer: Reference<never> =
    args.consent.givenBy === 'person' ? args.patient : { type: 'RelatedPerson', display: args.decisionMakerName ?? 'Authorized decision maker' };
  return {
    resourceType: 'Consent',
    meta: { profile: [profileUrl.informedConsent] },
    identifier: [args.identifier],
    status: 'active',
    scope: concept(externalSystem.consentScope, 'treatment'),
    category: [concept(externalSystem.loinc, consentCategoryLoinc)],
    patient: args.patient,
    dateTime: args.consent.date,
    performer: [performer],
    policy: [{ uri: args.policy }],
    ...(args.about && args.about.length > 0 ? { provision: { type: 'permit', data: args.about.map((reference) => ({ meaning: 'related' as const, reference })) } } : {}),
  };
}

export function informedConsentFrom(consent: Consent | undefined): InformedConsent {
  const performer = requireValue(consent?.performer?.[0], 'who gave informed consent');
  return {
    givenBy: performer.type === 'RelatedPerson' ? 'decision-maker' : 'person',
    date: requireValue(consent?.dateTime, 'the informed consent date').slice(0, 10),
  };
}
