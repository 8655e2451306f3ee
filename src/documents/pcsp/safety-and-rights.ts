import type { CarePlan, Consent, Extension, RiskAssessment } from '@medplum/fhirtypes';
import { codeSystem, consentPolicy, extensionUrl, externalSystem, profileUrl } from '../canonical.ts';
import { concept, informedConsentFrom, informedConsentResource, subExtension } from '../mapping/fhir-elements.ts';
import type { PlanContext, PlannedResource } from '../mapping/plan-context.ts';
import { referenceTo } from '../mapping/plan-references.ts';
import { StoredPlanError, itemIdOf, requireValue, type StoredResources } from '../mapping/stored-plan.ts';
import { backupPlanNarrative } from '../narrative.ts';
import type { PcspDocument, PlanRisk, RightsModification } from './pcsp-types.ts';
import { decisionMakerName } from './person.ts';

/**
 * Staying safe and limits on rights: the PCSP's risks ↔ KS Risk Assessments, its backup plan ↔ a
 * KS Backup Plan CarePlan, and each settings-rights modification ↔ the KS Rights Modification
 * extension with its own KS Informed Consent (42 CFR 441.301(c)(2) and (c)(4)(vi)(F)).
 */

export function riskResources(ctx: PlanContext<PcspDocument>): PlannedResource[] {
  return ctx.doc.risks.map((risk, index) => {
    const identifier = ctx.item('risk', risk.id);
    const resource: RiskAssessment = {
      resourceType: 'RiskAssessment',
      meta: { profile: [profileUrl.riskAssessment] },
      identifier: [identifier],
      status: 'final',
      subject: ctx.patient,
      prediction: [{ outcome: { text: risk.description } }],
      mitigation: risk.mitigation,
    };
    return { resource, identifier, pointer: `/risks/${index}` };
  });
}

/** eLTSS Emergency Backup Plan: a separate CarePlan whose partOf is the main plan. */
export function backupPlanResource(ctx: PlanContext<PcspDocument>): PlannedResource {
  const identifier = ctx.item('backup-plan', 'plan');
  const resource: CarePlan = {
    resourceType: 'CarePlan',
    meta: { profile: [profileUrl.backupPlanCarePlan] },
    identifier: [identifier],
    text: { status: 'generated', div: backupPlanNarrative(ctx.doc.backupPlan) },
    status: ctx.doc.status,
    intent: 'plan',
    category: [concept(codeSystem.planType, 'backup-plan'), concept(externalSystem.usCoreCarePlanCategory, 'assess-plan')],
    description: ctx.doc.backupPlan,
    subject: ctx.patient,
    // eLTSS CarePlan requires period.start (standards.md §1.2); the backup plan holds as long as the
    // plan it belongs to (profiles/REQUESTS.md, issue 5 audit).
    period: { ...ctx.doc.effectivePeriod },
    partOf: [ctx.plan],
  };
  return { resource, identifier, pointer: '/backupPlan' };
}

/** The written informed consent of each rights modification (441.301(c)(4)(vi)(F)(7)). */
export function rightsModificationConsents(ctx: PlanContext<PcspDocument>): PlannedResource[] {
  return (ctx.doc.rightsModifications ?? []).map((modification, index): PlannedResource => {
    const identifier = ctx.item('rights-modification-consent', modification.id);
    return {
      resource: informedConsentResource({ policy: consentPolicy.personCenteredPlan, identifier, consent: modification.informedConsent, patient: ctx.patient, decisionMakerName: decisionMakerName(ctx.doc), about: [ctx.plan] }),
      identifier,
      pointer: `/rightsModifications/${index}/informedConsent`,
    };
  });
}

/** 42 CFR 441.301(c)(4)(vi)(F)(1)-(8) as the KS Rights Modification extension. */
export function rightsModificationExtension(ctx: PlanContext<PcspDocument>, modification: RightsModification): Extension {
  return {
    url: extensionUrl.rightsModification,
    extension: [
      { url: 'rightModified', valueString: modification.rightModified },
      { url: 'assessedNeed', valueString: modification.assessedNeed },
      { url: 'positiveInterventions', valueString: modification.positiveInterventionsUsed },
      { url: 'lessIntrusiveMethods', valueString: modification.lessIntrusiveMethodsTried },
      { url: 'conditionDescription', valueString: modification.conditionDescription },
      { url: 'dataCollection', valueString: modification.dataCollection },
      { url: 'reviewDate', valueDate: modification.reviewBy },
      { url: 'informedConsent', valueReference: referenceTo(ctx.item('rights-modification-consent', modification.id)) },
      { url: 'noHarmAssurance', valueBoolean: modification.noHarmAssurance },
    ],
  };
}

export function rightsModificationFrom(extension: Extension, stored: StoredResources): RightsModification {
  const consent = requireValue(stored.resolve<Consent>(subExtension(extension, 'informedConsent').valueReference), 'a rights modification consent');
  const text = (url: string): string => requireValue(subExtension(extension, url).valueString, url);
  if (subExtension(extension, 'noHarmAssurance').valueBoolean !== true) {
    throw new StoredPlanError('A stored rights modification lacks the no-harm assurance.');
  }
  return {
    id: itemIdOf(consent),
    rightModified: text('rightModified'),
    assessedNeed: text('assessedNeed'),
    positiveInterventionsUsed: text('positiveInterventions'),
    lessIntrusiveMethodsTried: text('lessIntrusiveMethods'),
    conditionDescription: text('conditionDescription'),
    dataCollection: text('dataCollection'),
    reviewBy: requireValue(subExtension(extension, 'reviewDate').valueDate, 'reviewDate'),
    informedConsent: informedConsentFrom(consent),
    noHarmAssurance: true,
  };
}

export function riskFrom(risk: RiskAssessment): PlanRisk {
  return {
    id: itemIdOf(risk),
    description: requireValue(risk.prediction?.[0]?.outcome?.text, 'a risk description'),
    mitigation: requireValue(risk.mitigation, 'a risk mitigation'),
  };
}
