import { instrumentDisplay, mcoDisplay, waiverDisplay } from './canonical.ts';
import { fullName } from './mapping/fhir-elements.ts';
import type { BspDocument } from './bsp/bsp-types.ts';
import type { InformedConsent, Professional } from './common-types.ts';
import type { IspDocument } from './isp/isp-types.ts';
import type { PcspDocument } from './pcsp/pcsp-types.ts';
import type { PlanDocument } from './plan-document.ts';
import { plainAmount, plainDate, xhtml, type Markup } from './narrative.ts';

/**
 * A printable, accessible HTML view of a whole plan for the person and guardian (`$render`).
 * Plain language and readable layout are what 42 CFR 441.301(c)(1)(v) and (c)(2)(vii) ask of the
 * plan itself. Accessibility (WCAG 2.1 AA): `lang`, one h1 and ordered headings, tables with
 * captions and `scope` headers, text (not color) carries every meaning, 16px+ text with high
 * contrast, a print stylesheet. All document text is escaped.
 */

const style = `
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; font-size: 1.05rem; line-height: 1.5; color: #111; background: #fff; max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.8rem; } h2 { font-size: 1.4rem; border-bottom: 2px solid #333; margin-top: 2rem; } h3 { font-size: 1.15rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; } caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #555; padding: 0.4rem; text-align: left; vertical-align: top; } th { background: #eee; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; } dt { font-weight: bold; } dd { margin: 0; }
.notice { border: 2px solid #333; padding: 0.5rem; }
a.skip { position: absolute; left: -10000px; } a.skip:focus { position: static; }
@media print { a.skip { display: none; } h2 { break-after: avoid; } table, dl, section.item { break-inside: avoid; } body { font-size: 11pt; } }
`;

function page(title: string, lang: string, body: Markup): string {
  return `<!DOCTYPE html>\n${
    xhtml`<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><style>${{ html: style }}</style></head><body><a class="skip" href="#main">Skip to the plan</a><main id="main">${body}</main></body></html>`
      .html
  }\n`;
}

function section(title: string, body: Markup | readonly Markup[]): Markup {
  return xhtml`<section><h2>${title}</h2>${Array.isArray(body) ? (body as readonly Markup[]) : [body as Markup]}</section>`;
}

function bulletList(items: readonly string[]): Markup {
  return items.length === 0 ? xhtml`<p>None.</p>` : xhtml`<ul>${items.map((i) => xhtml`<li>${i}</li>`)}</ul>`;
}

function details(rows: readonly (readonly [string, string | undefined])[]): Markup {
  return xhtml`<dl>${rows.filter(([, v]) => v !== undefined).map(([k, v]) => xhtml`<dt>${k}</dt><dd>${v ?? ''}</dd>`)}</dl>`;
}

function table(caption: string, headers: readonly string[], rows: readonly (readonly string[])[]): Markup {
  if (rows.length === 0) {
    return xhtml`<p>${caption}: none.</p>`;
  }
  return xhtml`<table><caption>${caption}</caption><thead><tr>${headers.map((h) => xhtml`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows.map(
    (row) => xhtml`<tr>${row.map((cell, i) => (i === 0 ? xhtml`<th scope="row">${cell}</th>` : xhtml`<td>${cell}</td>`))}</tr>`,
  )}</tbody></table>`;
}

function professional(p: Professional): string {
  return `${p.name}, ${p.organization}${p.phone ? `, phone ${p.phone}` : ''}`;
}

function consentText(consent: InformedConsent, decisionMaker: string | undefined): string {
  return `${consent.givenBy === 'person' ? 'Given by the person' : `Given by ${decisionMaker ?? 'the decision maker'}`} on ${plainDate(consent.date)}`;
}

const statusWords: Record<PlanDocument['status'], string> = {
  draft: 'Draft: not yet in effect',
  active: 'In effect',
  'on-hold': 'On hold',
  completed: 'Completed',
  revoked: 'Ended early',
};

function pcspBody(doc: PcspDocument): Markup {
  const name = fullName(doc.person.name);
  const dm = doc.decisionMaker ? fullName(doc.decisionMaker.name) : undefined;
  const goalName = new Map(doc.goals.map((g) => [g.id, g.description]));
  const needName = new Map(doc.assessedNeeds.map((n) => [n.id, n.description]));
  const lifestyle = doc.preferredLifestyle;
  return xhtml`<h1>Person-Centered Support Plan for ${name}</h1>
<p class="notice">${statusWords[doc.status]}. This plan runs from ${plainDate(doc.effectivePeriod.start)} to ${plainDate(doc.effectivePeriod.end)} and will be reviewed by ${plainDate(doc.nextReviewDate)}, or sooner if your needs change or you ask.</p>
${section('About me', details([
  ['Name', name],
  ['Date of birth', plainDate(doc.person.birthDate)],
  ['Medicaid ID', doc.person.medicaidId],
  ['Waiver', doc.waiver ? waiverDisplay[doc.waiver] : 'None (not a waiver service)'],
  ['Phone', doc.person.phone],
  ['Address', doc.person.address ? `${doc.person.address.line.join(', ')}, ${doc.person.address.city}, ${doc.person.address.state} ${doc.person.address.postalCode}` : undefined],
  ['Decision maker', doc.decisionMaker ? `${dm} (${doc.decisionMaker.relationship.replace(/-/g, ' ')})${doc.decisionMaker.phone ? `, phone ${doc.decisionMaker.phone}` : ''}` : undefined],
  ['Plan written by', professional(doc.supportPlanner)],
]))}
${section('How I want to live', details([
  ['Where I want to live', lifestyle.livingSetting],
  ['I chose this place', lifestyle.settingChosenByPerson ? 'Yes' : 'No'],
  ['Other places we talked about', lifestyle.alternativeSettingsConsidered.join('; ')],
  ['Who I live with', lifestyle.livesWith],
  ['Work or what I like to do', lifestyle.workOrValuedActivity],
  ['Who I spend time with', lifestyle.socializesWith],
  ['What I do in my community', lifestyle.communityActivities.join('; ')],
]))}
${section('What people like about me', bulletList(doc.strengths))}
${section('What is important to me', bulletList(doc.preferences))}
${section('How I communicate', bulletList(doc.communicationMethods))}
${section('My assessment', details([
  ['Tool', instrumentDisplay[doc.functionalAssessment.instrument]],
  ['Date', plainDate(doc.functionalAssessment.date)],
  ['Tier', doc.functionalAssessment.tier === undefined ? undefined : String(doc.functionalAssessment.tier)],
  ['Level of care', doc.functionalAssessment.levelOfCare],
  ['Assessor', doc.functionalAssessment.assessor],
]))}
${section('What I need help with', bulletList(doc.assessedNeeds.map((n) => n.description)))}
${section('My goals', doc.goals.map((g) => xhtml`<section class="item"><h3>${g.description}</h3>${details([
  ['What success looks like', g.desiredOutcome],
  ['By when', g.targetDate ? plainDate(g.targetDate) : undefined],
  ['Needs it helps with', g.addressesNeeds.map((id) => needName.get(id) ?? id).join('; ')],
])}${g.steps ? table('Steps', ['Step', 'Who does it'], g.steps.map((s) => [s.description, s.responsible])) : xhtml``}</section>`))}
${section('Paid services', table('Paid services', ['Service', 'How much', 'Dates', 'Provider', 'Self-directed', 'For goals'], doc.services.map((s) => [
  `${s.name} (${s.serviceCode})`,
  plainAmount(s.amount),
  `${plainDate(s.period.start)}${s.period.end ? ` to ${plainDate(s.period.end)}` : ' onward'}`,
  `${s.provider.name}${s.location ? `, at ${s.location}` : ''}`,
  s.selfDirected ? 'Yes' : 'No',
  s.goals.map((id) => goalName.get(id) ?? id).join('; '),
])))}
${section('Help from family and friends', table('Unpaid supports', ['Support', 'Who', 'For goals'], (doc.naturalSupports ?? []).map((s) => [s.description, `${s.supporter.name} (${s.supporter.relationship})`, s.goals.map((id) => goalName.get(id) ?? id).join('; ')])))}
${section('Staying safe', [table('Risks', ['Risk', 'What we do about it'], doc.risks.map((r) => [r.description, r.mitigation])), xhtml`<h3>Backup plan</h3><p>${doc.backupPlan}</p>`])}
${doc.rightsModifications ? section('Limits on my rights', doc.rightsModifications.map((m) => xhtml`<section class="item"><h3>${m.rightModified}</h3>${details([
  ['Why (assessed need)', m.assessedNeed],
  ['Positive supports tried first', m.positiveInterventionsUsed],
  ['Less intrusive ways tried', m.lessIntrusiveMethodsTried],
  ['What the limit is', m.conditionDescription],
  ['How we check it works', m.dataCollection],
  ['Review by', plainDate(m.reviewBy)],
  ['Consent', consentText(m.informedConsent, dm)],
  ['Will cause no harm', m.noHarmAssurance ? 'Yes, this is assured' : 'No'],
])}</section>`)) : xhtml``}
${doc.iepParticipation ? section('School (IEP)', details([
  ['School', doc.iepParticipation.school],
  ['IEP meeting', plainDate(doc.iepParticipation.iepMeetingDate)],
  ['What my case manager does', doc.iepParticipation.caseManagerRole],
])) : xhtml``}
${section('Who helped make this plan', [bulletList(doc.participants.map((p) => `${p.name} (${p.role.replace(/-/g, ' ')})`)), details([['Who checks the plan is working', professional(doc.monitor)]])])}
${section('Agreement and signatures', [
  xhtml`<p>Informed consent: ${consentText(doc.informedConsent, dm)}.</p>`,
  table('Signatures', ['Name', 'Role', 'Date', 'How signed'], doc.signatures.map((s) => [s.name, s.role.replace(/-/g, ' '), plainDate(s.date), s.method])),
])}
${section('Who gets a copy', table('Copies sent', ['Name', 'Role', 'How', 'Date'], doc.distribution.map((d) => [d.name, d.role.replace(/-/g, ' '), d.method.replace(/-/g, ' '), plainDate(d.date)])))}`;
}

function bspBody(doc: BspDocument): Markup {
  const name = fullName(doc.person.name);
  const behaviorName = new Map(doc.targetBehaviors.map((b) => [b.id, b.name]));
  const behaviors = (ids: readonly string[]): string => ids.map((id) => behaviorName.get(id) ?? id).join('; ');
  return xhtml`<h1>Behavior Support Plan for ${name}</h1>
<p class="notice">${statusWords[doc.status]}. This plan is part of support plan ${doc.pcspPlanId}. It runs from ${plainDate(doc.effectivePeriod.start)} to ${plainDate(doc.effectivePeriod.end)}; next review ${plainDate(doc.nextReviewDate)}.</p>
${section('Who wrote it', details([['Author', professional(doc.author)], ['Medicaid ID', doc.person.medicaidId], ['Waiver', waiverDisplay[doc.waiver]]]))}
${section('Behaviors this plan helps with', table('Behaviors', ['Behavior', 'What it looks like'], doc.targetBehaviors.map((b) => [b.name, b.operationalDefinition])))}
${section('Why the behaviors happen', xhtml`<p>${doc.functionalAssessmentSummary.summary}</p><p>Assessment date: ${plainDate(doc.functionalAssessmentSummary.date)}.</p>`)}
${section('Positive supports (always first)', table('Positive supports', ['Support', 'For'], doc.positiveSupports.map((s) => [s.description, behaviors(s.behaviors)])))}
${section('Changes to my surroundings', bulletList(doc.environmentalAccommodations))}
${section('Less restrictive ways already tried', bulletList(doc.lessRestrictiveAlternativesTried))}
${section('Restrictive interventions', doc.restrictiveInterventions ? doc.restrictiveInterventions.map((r) => xhtml`<section class="item"><h3>${r.description}</h3>${details([
  ['Type', r.type.replace(/-/g, ' ')],
  ['Only for', behaviors(r.behaviors)],
  ['Risks, benefits and side effects reviewed', r.risksBenefitsSideEffectsReviewed],
  ['Consent', consentText(r.informedConsent, undefined)],
  ['Approved by', `${r.committeeApproval.committee} on ${plainDate(r.committeeApproval.date)}`],
  ['Must be reviewed by', plainDate(r.reviewBy)],
])}</section>`) : xhtml`<p>This plan has no restrictive interventions.</p>`)}
${doc.prnMedications ? section('As-needed (PRN) medication', table('PRN medication', ['Medication', 'Only when', 'Prescriber', 'Consent'], doc.prnMedications.map((m) => [m.medication, m.indication, m.prescriber, consentText(m.consent, undefined)]))) : xhtml``}
${section('How we collect data', details([['Method', doc.dataCollection.method], ['How often', doc.dataCollection.frequency], ['Who', doc.dataCollection.responsible]]))}`;
}

function ispBody(doc: IspDocument): Markup {
  const name = fullName(doc.person.name);
  const goalName = new Map(doc.goals.map((g) => [g.id, g.description]));
  const care = doc.primaryCare;
  return xhtml`<h1>Integrated Service Plan for ${name}</h1>
<p class="notice">${statusWords[doc.status]}. This plan runs from ${plainDate(doc.effectivePeriod.start)} to ${plainDate(doc.effectivePeriod.end)}; next review ${plainDate(doc.nextReviewDate)}.</p>
${section('Who coordinates my care', details([
  ['Care coordinator', professional(doc.careCoordinator)],
  ['Targeted case manager', doc.targetedCaseManager ? professional(doc.targetedCaseManager) : undefined],
  ['Health plan', mcoDisplay[doc.mco]],
  ['Waiver', waiverDisplay[doc.waiver]],
  ['Based on', [doc.pcspPlanId, doc.bspPlanId].filter((x): x is string => x !== undefined).join(' and ')],
]))}
${section('My health needs assessment', xhtml`<p>${doc.healthNeedsAssessment.summary}</p><p>Date: ${plainDate(doc.healthNeedsAssessment.date)}.</p>`)}
${section('What I need', bulletList(doc.needs.map((n) => `${n.description} (${n.category.replace(/-/g, ' ')})`)))}
${section('My goals', bulletList(doc.goals.map((g) => `${g.description}${g.targetDate ? `, by ${plainDate(g.targetDate)}` : ''}`)))}
${section('Authorized services', table('Authorized services', ['Service', 'Authorization', 'Units', 'Dates', 'Provider', 'For goals'], doc.authorizedServices.map((s) => [
  `${s.name} (${s.serviceCode})`,
  s.authorizationNumber,
  plainAmount(s.units),
  `${plainDate(s.authorizedPeriod.start)} to ${plainDate(s.authorizedPeriod.end)}`,
  s.provider.name,
  s.goals.map((id) => goalName.get(id) ?? id).join('; '),
])))}
${section('Other help (not Medicaid)', table('Other resources', ['Resource', 'From'], (doc.nonMedicaidResources ?? []).map((r) => [r.description, r.source])))}
${section('My health', [
  table('Conditions', ['Condition', 'Code'], care.conditions.map((c) => [c.description, c.icd10 ?? ''])),
  table('Medications', ['Medication', 'How to take it'], (care.medications ?? []).map((m) => [m.name, m.dosage ?? ''])),
  table('Hospital and emergency visits', ['Date', 'Where', 'Follow-up', 'Status'], (care.transitions ?? []).map((t) => [plainDate(t.date), `${t.facility} (${t.type.replace(/-/g, ' ')})`, t.followUp, t.followUpStatus.replace(/-/g, ' ')])),
  xhtml`<h3>Extra attention needed</h3>${bulletList((care.highRiskFlags ?? []).map((f) => f.replace(/-/g, ' ')))}`,
])}`;
}

/** The whole plan as one printable HTML page. */
export function renderPlanHtml(doc: PlanDocument): string {
  switch (doc.documentType) {
    case 'pcsp':
      return page(`Person-Centered Support Plan: ${fullName(doc.person.name)}`, 'en', pcspBody(doc));
    case 'bsp':
      return page(`Behavior Support Plan: ${fullName(doc.person.name)}`, 'en', bspBody(doc));
    case 'isp':
      return page(`Integrated Service Plan: ${fullName(doc.person.name)}`, 'en', ispBody(doc));
  }
}
