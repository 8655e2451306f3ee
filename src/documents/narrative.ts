import { fullName } from './mapping/fhir-elements.ts';
import type { BspDocument } from './bsp/bsp-types.ts';
import type { IspDocument } from './isp/isp-types.ts';
import type { PcspDocument, ServiceAmount } from './pcsp/pcsp-types.ts';
import type { PlanDocument } from './plan-document.ts';

/**
 * CarePlan.text: a short plain-language summary of the plan (42 CFR 441.301(c)(1)(v) and (c)(2):
 * "plain language", "understandable to the individual"). FHIR narrative is limited XHTML
 * (https://hl7.org/fhir/R4/narrative.html): one <div xmlns="http://www.w3.org/1999/xhtml">, no
 * scripts, no event attributes, every text escaped.
 */

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A fragment of already-escaped XHTML. */
export interface Markup {
  readonly html: string;
}

/** Tagged template that escapes every interpolated value unless it is Markup. */
export function xhtml(strings: TemplateStringsArray, ...values: readonly (string | number | Markup | readonly Markup[])[]): Markup {
  let html: string = strings[0] ?? '';
  values.forEach((value, index) => {
    const rendered = Array.isArray(value)
      ? (value as readonly Markup[]).map((m) => m.html).join('')
      : typeof value === 'object'
        ? (value as Markup).html
        : escapeXml(String(value));
    html += rendered + (strings[index + 1] ?? '');
  });
  return { html };
}

const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "2027-03-31" → "March 31, 2027": dates people read without thinking about formats. */
export function plainDate(date: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return `${monthNames[month - 1]} ${day}, ${year}`;
}

const unitWords: Record<ServiceAmount['unit'], [string, string]> = {
  '15-min': ['15-minute unit', '15-minute units'],
  hour: ['hour', 'hours'],
  day: ['day', 'days'],
  month: ['month', 'months'],
  visit: ['visit', 'visits'],
  item: ['item', 'items'],
};

export function plainAmount(amount: { quantity: number; unit: ServiceAmount['unit']; per?: ServiceAmount['per'] }): string {
  const [one, many] = unitWords[amount.unit];
  return `${amount.quantity} ${amount.quantity === 1 ? one : many}${amount.per ? ` each ${amount.per}` : ''}`;
}

function list(items: readonly string[]): Markup {
  return xhtml`<ul>${items.map((item) => xhtml`<li>${item}</li>`)}</ul>`;
}

function div(body: Markup): string {
  return `<div xmlns="http://www.w3.org/1999/xhtml">${body.html}</div>`;
}

function pcspNarrative(doc: PcspDocument): string {
  const name = fullName(doc.person.name);
  return div(xhtml`<p><b>Person-Centered Support Plan for ${name}</b></p>
<p>This plan is in effect from ${plainDate(doc.effectivePeriod.start)} to ${plainDate(doc.effectivePeriod.end)}. It will be reviewed by ${plainDate(doc.nextReviewDate)}. ${doc.supportPlanner.name} (${doc.supportPlanner.organization}) wrote it with ${name}.</p>
<p>Where ${name} wants to live: ${doc.preferredLifestyle.livingSetting}.</p>
<p>Goals:</p>${list(doc.goals.map((g) => g.description))}
<p>Paid services:</p>${list(doc.services.length > 0 ? doc.services.map((s) => `${s.name}: ${plainAmount(s.amount)}, from ${s.provider.name}`) : ['None'])}
<p>If something goes wrong: ${doc.backupPlan}</p>`);
}

function bspNarrative(doc: BspDocument): string {
  const name = fullName(doc.person.name);
  const restrictive = doc.restrictiveInterventions ?? [];
  return div(xhtml`<p><b>Behavior Support Plan for ${name}</b></p>
<p>This plan is in effect from ${plainDate(doc.effectivePeriod.start)} to ${plainDate(doc.effectivePeriod.end)} and is part of plan ${doc.pcspPlanId}. Next review: ${plainDate(doc.nextReviewDate)}.</p>
<p>Behaviors the plan helps with:</p>${list(doc.targetBehaviors.map((b) => b.name))}
<p>Positive supports to use first:</p>${list(doc.positiveSupports.map((s) => s.description))}
<p>${restrictive.length === 0 ? 'This plan has no restrictive interventions.' : `This plan has ${restrictive.length} restrictive intervention(s), each approved by the behavioral management committee and consented to, to be reviewed by the date shown:`}</p>${restrictive.length > 0 ? list(restrictive.map((r) => `${r.description} (review by ${plainDate(r.reviewBy)})`)) : xhtml``}`);
}

function ispNarrative(doc: IspDocument): string {
  const name = fullName(doc.person.name);
  return div(xhtml`<p><b>Integrated Service Plan for ${name}</b></p>
<p>This plan is in effect from ${plainDate(doc.effectivePeriod.start)} to ${plainDate(doc.effectivePeriod.end)}. Care coordinator: ${doc.careCoordinator.name} (${doc.careCoordinator.organization}). Next review: ${plainDate(doc.nextReviewDate)}.</p>
<p>Goals:</p>${list(doc.goals.map((g) => g.description))}
<p>Authorized services:</p>${list(doc.authorizedServices.length > 0 ? doc.authorizedServices.map((s) => `${s.name}: ${plainAmount(s.units)} from ${plainDate(s.authorizedPeriod.start)} to ${plainDate(s.authorizedPeriod.end)} (authorization ${s.authorizationNumber})`) : ['None'])}`);
}

export function planNarrative(doc: PlanDocument): string {
  switch (doc.documentType) {
    case 'pcsp':
      return pcspNarrative(doc);
    case 'bsp':
      return bspNarrative(doc);
    case 'isp':
      return ispNarrative(doc);
  }
}

export function backupPlanNarrative(text: string): string {
  return div(xhtml`<p><b>Backup plan</b></p><p>${text}</p>`);
}
