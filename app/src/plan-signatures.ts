import type { CarePlan, Contract } from '@medplum/fhirtypes';
import { field, formatDate, formValue, h } from './dom.ts';
import type { FhirApi } from './fhir-api.ts';
import { KS, PLAN_TYPE_WORDS, planType, type SignedIn } from './kansas.ts';
import { runWrite } from './write-feedback.ts';

/**
 * The signatures on a person's plans and, for the person or their guardian, signing one. The Kansas
 * guide keeps a plan's signatures as eLTSS does (Plan Signatures → Contract.signer): a KS Plan
 * Signatures Contract about the plan (`topicReference`). Signing writes a new one with the signer
 * alone, on the plan version shown, so a later change of the plan is seen as not yet signed.
 */

const SIGNER_WORDS: Record<string, string> = {
  person: 'Person',
  guardian: 'Guardian',
  'support-planner': 'Support planner',
  'service-provider': 'Service provider',
  'targeted-case-manager': 'Targeted case manager',
  'mco-care-coordinator': 'MCO care coordinator',
};

/** ISO-ASTM E1762 "Consent Signature": the signer agrees to the plan. */
const CONSENT_SIGNATURE = { system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.7', display: 'Consent Signature' };

/** The plans a signature can be on (KS Plan Signatures topic: a PCSP, BSP or ISP). */
const SIGNABLE = ['pcsp', 'bsp', 'isp'];

function planIdOf(reference: string | undefined): { id?: string; version?: string } {
  const [, id, version] = /^CarePlan\/([^/]+)(?:\/_history\/([^/]+))?$/.exec(reference ?? '') ?? [];
  return { id, version };
}

function planLabel(plan: CarePlan | undefined): string {
  return plan ? (planType(plan)?.toUpperCase() ?? plan.title ?? 'Plan') : 'A plan';
}

/** The signatures of the person's plans, one row per signer, newest first. */
export function signatureRows(contracts: Contract[], plans: CarePlan[]): (string | HTMLElement)[][] {
  const rows: { when: string; cells: (string | HTMLElement)[] }[] = [];
  for (const contract of contracts) {
    const { id, version } = planIdOf(contract.topicReference?.reference);
    const plan = plans.find((p) => p.id === id);
    const stale = version !== undefined && plan?.meta?.versionId !== undefined && version !== plan.meta.versionId;
    for (const signer of contract.signer ?? []) {
      const signature = signer.signature?.[0];
      const method = signature?.type?.find((t) => t.system === KS.planElement)?.code?.replace(/^signature-/, '');
      rows.push({
        when: signature?.when ?? '',
        cells: [
          h('span', {}, planLabel(plan), stale ? h('span', { class: 'muted' }, ' (an earlier version)') : ''),
          signer.party?.display ?? signature?.who?.display ?? '',
          SIGNER_WORDS[signer.type?.code ?? ''] ?? signer.type?.code ?? '',
          formatDate(signature?.when),
          method ?? '',
        ],
      });
    }
  }
  return rows.sort((a, b) => b.when.localeCompare(a.when)).map((r) => r.cells);
}

/** Whether the signed-in person or guardian signed this version of the plan. */
function signedCurrent(user: SignedIn, plan: CarePlan, contracts: Contract[]): boolean {
  return contracts.some((c) => {
    const { id, version } = planIdOf(c.topicReference?.reference);
    return id === plan.id && (version === undefined || version === plan.meta?.versionId) && c.signer?.some((s) => s.party?.reference === user.fhirUser);
  });
}

function signatureOf(user: SignedIn, patient: string, plan: CarePlan, name: string): Contract {
  const me = { reference: user.fhirUser, display: name };
  return {
    resourceType: 'Contract',
    meta: { profile: [KS.planSignatures] },
    status: 'executed',
    subject: [{ reference: patient }],
    topicReference: { reference: plan.meta?.versionId ? `CarePlan/${plan.id}/_history/${plan.meta.versionId}` : `CarePlan/${plan.id}` },
    signer: [
      {
        type: { system: KS.signerRole, code: user.role === 'guardian' ? 'guardian' : 'person' },
        party: me,
        signature: [{ type: [CONSENT_SIGNATURE, { system: KS.planElement, code: 'signature-electronic' }], when: new Date().toISOString(), who: me }],
      },
    ],
  };
}

/**
 * One plan's signing form: the signer confirms they read and agree to it and types their name
 * (the electronic signature). Both are checked here, so a missing one is said next to the button.
 */
function signForm(api: FhirApi, user: SignedIn, patient: string, plan: CarePlan, refresh: (notice: string) => void): HTMLElement {
  const label = planLabel(plan);
  const status = h('div', { role: 'status' });
  const form = h(
    'form',
    {
      novalidate: true,
      'data-sign': planType(plan),
      onsubmit: (event: Event) => {
        event.preventDefault();
        const f = form as HTMLFormElement;
        const agreed = (f.elements.namedItem('agree') as HTMLInputElement).checked;
        const name = formValue(f, 'signature');
        if (!agreed || !name) {
          const missing = [!agreed ? `Tick "I have read the ${label} and I agree to it".` : '', !name ? 'Type your full name to sign.' : ''].filter(Boolean);
          status.replaceChildren(h('div', { class: 'alert', role: 'alert' }, h('p', {}, h('strong', {}, 'Not signed yet.')), h('ul', { class: 'issues' }, missing.map((m) => h('li', {}, m)))));
          return;
        }
        void runWrite(status, () => api.write('POST', 'Contract', signatureOf(user, patient, plan, name)).then(() => `Your signature on the ${label} was saved.`), refresh);
      },
    },
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'agree' }), ` I have read the ${label} and I agree to it.`),
    field('Your full name', h('input', { name: 'signature', autocomplete: 'name' }), 'Typing your name here is your signature.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, `Sign the ${label}`)),
    status,
  );
  return form;
}

/** The signatures section: who signed which plan, and the sign forms of a person or guardian. */
export function signaturesSection(api: FhirApi, user: SignedIn, patient: string, plans: CarePlan[], contracts: Contract[] | undefined, refresh: (notice: string) => void): HTMLElement {
  const rows = signatureRows(contracts ?? [], plans);
  const signer = user.role === 'guardian' || user.role === 'person';
  const toSign = signer ? plans.filter((p) => p.status === 'active' && SIGNABLE.includes(planType(p) ?? '') && !signedCurrent(user, p, contracts ?? [])) : [];
  const signedAll = signer && contracts !== undefined && toSign.length === 0;
  return h(
    'section',
    { 'aria-labelledby': 'signatures-heading' },
    h('h2', { id: 'signatures-heading' }, 'Signatures'),
    contracts === undefined ? h('p', {}, 'The signatures cannot be shown to you.') : null,
    rows.length
      ? h(
          'div',
          { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Who signed which plan' },
          h('table', { 'data-signatures': '' }, h('caption', { class: 'muted' }, 'Who signed which plan'), h('thead', {}, h('tr', {}, ['Plan', 'Name', 'Signed as', 'Date', 'How'].map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))),
        )
      : contracts !== undefined
        ? h('p', {}, 'Nobody has signed these plans here yet.')
        : null,
    signedAll ? h('p', {}, 'You have signed every current plan.') : null,
    toSign.map((plan) => h('div', {}, h('h3', {}, `Sign the ${PLAN_TYPE_WORDS[planType(plan) ?? ''] ?? planLabel(plan)}`), signForm(api, user, patient, plan, refresh))),
  );
}
