import type { CarePlan, Extension, Patient, ServiceRequest, Task } from '@medplum/fhirtypes';
import { directoryPicker } from './directory-picker.ts';
import { field, formValue, h } from './dom.ts';
import type { FhirApi } from './fhir-api.ts';
import { KS, planType, type SignedIn } from './kansas.ts';
import { runWrite } from './write-feedback.ts';

type Refresh = (notice: string) => void;

/** CodeSystem ks-service-unit: the units an authorization is counted in. */
const UNIT_WORDS: Record<string, string> = { '15-min': '15 minutes', hour: 'Hour', day: 'Day', month: 'Month', visit: 'Visit', item: 'Item (one time)' };

const DECISION_WORDS: Record<string, string> = { approved: 'Approved', 'partially-approved': 'Partly approved', denied: 'Denied' };

/** The MCO's decision on an authorized service (KS Authorization Decision; absent means approved). */
export function decisionOf(service: ServiceRequest): { code: string; words: string; reason?: string } {
  const extension = service.extension?.find((e) => e.url === KS.authorizationDecision);
  const code = extension?.extension?.find((e) => e.url === 'decision')?.valueCode ?? 'approved';
  const reason = extension?.extension?.find((e) => e.url === 'reason')?.valueCodeableConcept;
  return { code, words: DECISION_WORDS[code] ?? code, reason: reason?.text ?? reason?.coding?.[0]?.display };
}

/** The KanCare MCO of the person, as their ISP or a service names it (KS MCO extension). */
function mcoOf(plans: CarePlan[], planned: ServiceRequest): Extension | undefined {
  return [planned, ...plans].flatMap((r) => r.extension ?? []).find((e) => e.url === KS.mcoExtension);
}

/**
 * A care coordinator's decision on one planned service: approve, partly approve or deny, written
 * as a KS Authorized Service (intent order, basedOn the planned service) with the decision.
 */
export function authorizeForm(api: FhirApi, user: SignedIn, planned: ServiceRequest, plans: CarePlan[], refresh: Refresh): HTMLElement {
  const status = h('div', { role: 'status' });
  const q = planned.quantityQuantity;
  // A planned service without its own period (or without its end) is planned for the ISP's period.
  const ispPeriod = plans.find((p) => planType(p) === 'isp')?.period;
  const period = { start: planned.occurrencePeriod?.start ?? ispPeriod?.start, end: planned.occurrencePeriod?.end ?? ispPeriod?.end };
  const form = h(
    'form',
    {
      class: 'decide',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const f = form as HTMLFormElement;
        const decision = formValue(f, 'decision');
        const reason = formValue(f, 'reason');
        const mco = mcoOf(plans, planned);
        const authorized: ServiceRequest = {
          resourceType: 'ServiceRequest',
          meta: { profile: [KS.authorizedService] },
          extension: [
            ...(mco ? [mco] : []),
            { url: KS.authorizationDecision, extension: [{ url: 'decision', valueCode: decision }, ...(reason ? [{ url: 'reason', valueCodeableConcept: { text: reason } }] : [])] },
          ],
          // A denial is revoked with 0 units: no activity may follow (rule ks-authorization-reason).
          status: decision === 'denied' ? 'revoked' : 'active',
          intent: 'order',
          subject: planned.subject,
          code: planned.code,
          identifier: [{ type: { coding: [{ system: KS.identifierType, code: 'authorization-number' }] }, value: formValue(f, 'number') }],
          basedOn: [{ reference: `ServiceRequest/${planned.id}` }],
          quantityQuantity: { value: decision === 'denied' ? 0 : Number(formValue(f, 'units')), system: KS.serviceUnit, code: formValue(f, 'unit') },
          occurrencePeriod: { start: formValue(f, 'start'), end: formValue(f, 'end') },
          requester: { reference: user.fhirUser },
        };
        void runWrite(status, () => api.write('POST', 'ServiceRequest', authorized).then(() => `${DECISION_WORDS[decision]}: saved.`), refresh);
      },
    },
    field('Decision', h('select', { name: 'decision', required: true }, h('option', { value: 'approved' }, 'Approve'), h('option', { value: 'partially-approved' }, 'Approve in part'), h('option', { value: 'denied' }, 'Deny'))),
    field('Units authorized', h('input', { name: 'units', type: 'number', min: '0', value: q?.value ?? '' })),
    field('Unit', h('select', { name: 'unit' }, Object.entries(UNIT_WORDS).map(([code, words]) => h('option', { value: code, selected: code === q?.code || code === q?.unit }, words)))),
    field('From', h('input', { name: 'start', type: 'date', required: true, value: period.start?.slice(0, 10) ?? '' })),
    field('To', h('input', { name: 'end', type: 'date', required: true, value: period.end?.slice(0, 10) ?? '' })),
    field('Authorization number', h('input', { name: 'number', required: true })),
    field('Reason', h('input', { name: 'reason' }), 'Needed when you deny or approve in part.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save decision')),
    status,
  );
  return form;
}

/** Import a PCSP, BSP or ISP document (JSON or YAML): one $import-document, errors listed with their place. */
function importForm(api: FhirApi, refresh: Refresh): HTMLElement {
  const status = h('div', { id: 'import-result' });
  const form = h(
    'form',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        const file = ((form as HTMLFormElement).elements.namedItem('document') as HTMLInputElement).files?.[0];
        if (!file) {
          status.replaceChildren(h('p', { role: 'alert' }, 'Choose a document file first.'));
          return;
        }
        const contentType = /\.ya?ml$/i.test(file.name) ? 'application/yaml' : 'application/json';
        void runWrite(
          status,
          async () => {
            const result = await api.postRaw<{ parameter?: { name: string; valueString?: string }[] }>('CarePlan/$import-document', await file.text(), contentType);
            const outcome = result.parameter?.find((p) => p.name === 'outcome')?.valueString;
            return `The document ${file.name} was imported${outcome ? ` (${outcome})` : ''}.`;
          },
          refresh,
        );
      },
    },
    field('Plan document (JSON or YAML)', h('input', { name: 'document', type: 'file', accept: '.json,.yaml,.yml,application/json,application/yaml' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Import the document')),
    status,
  );
  return h('section', { 'aria-labelledby': 'import-heading' }, h('h2', { id: 'import-heading' }, 'Import a PCSP or BSP'), form);
}

/** The current version of the person's PCSP, as a versioned reference: what a change in needs is about. */
export function currentPcspVersion(plans: CarePlan[]): string | undefined {
  const pcsp = plans.find((p) => planType(p) === 'pcsp' && p.status === 'active') ?? plans.find((p) => planType(p) === 'pcsp');
  if (!pcsp?.id) return undefined;
  return pcsp.meta?.versionId ? `CarePlan/${pcsp.id}/_history/${pcsp.meta.versionId}` : `CarePlan/${pcsp.id}`;
}

type TaskKind = 'notify-change-of-needs' | 'ane-report' | 'referral';

const TASK_FORM_WORDS: Record<TaskKind, { heading: string; what: string; done: string }> = {
  'notify-change-of-needs': { heading: 'Record a change in needs', what: 'What changed', done: 'The change in needs was recorded' },
  'ane-report': { heading: 'File an ANE report', what: 'What happened', done: 'The ANE report was filed' },
  referral: { heading: 'Refer to a provider', what: 'What the person needs', done: 'The referral was sent' },
};

/** Whom a Task of this kind goes to, picked from the directory (domain.md §6c: DCF, or KDADS for a licensed adult care home). */
function ownerPicker(api: FhirApi, kind: TaskKind): HTMLElement | null {
  if (kind === 'ane-report') return directoryPicker(api, { name: 'owner', label: 'Report to', hint: 'The DCF Kansas Protection Report Center, or KDADS for a resident of a KDADS-licensed adult care home.', organizationTypes: ['dcf', 'kdads'] });
  if (kind === 'referral') return directoryPicker(api, { name: 'owner', label: 'Refer to', hint: 'The HCBS provider agency that is to deliver the service.', organizationTypes: ['hcbs-provider-agency'] });
  return null;
}

/**
 * A TCM's change in needs, ANE report or referral: a KS Workflow Task. A change in needs is about the current
 * PCSP version (Task.focus), like the one the server opens on a PCSP import, so saving an ISP that
 * integrates it closes it. The form checks its required fields itself (novalidate) and says in words
 * which are missing, next to the button and announced (WCAG 3.3.1), instead of the browser's bubble.
 */
function taskForm(api: FhirApi, user: SignedIn, patient: Patient, plans: CarePlan[], kind: TaskKind, refresh: Refresh): HTMLElement {
  const status = h('div', { role: 'status', class: 'task-form-result' });
  const words = TASK_FORM_WORDS[kind];
  const isp = plans.find((p) => planType(p) === 'isp');
  const form = h(
    'form',
    {
      novalidate: true,
      'data-task-form': kind,
      onsubmit: (event: Event) => {
        event.preventDefault();
        const f = form as HTMLFormElement;
        if (!requiredFilled(f, status)) return;
        const text = formValue(f, 'description');
        const owner = kind === 'notify-change-of-needs' ? isp?.author?.reference : formValue(f, 'owner');
        const focus = kind === 'notify-change-of-needs' ? currentPcspVersion(plans) : undefined;
        const task: Task = {
          resourceType: 'Task',
          status: 'requested',
          intent: 'order',
          ...(kind === 'ane-report' ? { priority: 'stat' as const } : {}),
          code: { coding: [{ system: KS.taskType, code: kind }] },
          description: text,
          ...(focus ? { focus: { reference: focus } } : {}),
          for: { reference: `Patient/${patient.id}` },
          authoredOn: new Date().toISOString(),
          requester: { reference: user.fhirUser },
          ...(owner ? { owner: { reference: owner } } : {}),
        };
        void runWrite(
          status,
          () => api.write<Task>('POST', 'Task', task).then((created) => `${words.done}: Task ${created.id}, ${created.status}. It is listed under Tasks.`),
          refresh,
        );
      },
    },
    field(words.what, h('textarea', { name: 'description', rows: '3', required: true })),
    ownerPicker(api, kind),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: kind === 'ane-report' ? 'danger' : undefined }, words.heading)),
    status,
  );
  return h('section', { 'aria-labelledby': `${kind}-heading` }, h('h2', { id: `${kind}-heading` }, words.heading), form);
}

/** Whether every required field has a value; if not, says which (by their labels) and marks them invalid. */
function requiredFilled(form: HTMLFormElement, status: HTMLElement): boolean {
  const controls = [...form.querySelectorAll<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>('[required]')];
  const missing = controls.filter((c) => !c.value.trim());
  for (const c of controls) {
    if (missing.includes(c)) c.setAttribute('aria-invalid', 'true');
    else c.removeAttribute('aria-invalid');
  }
  if (!missing.length) return true;
  const labels = missing.map((c) => form.querySelector(`label[for="${c.id}"]`)?.textContent ?? c.name);
  status.replaceChildren(h('div', { class: 'alert', role: 'alert' }, h('p', {}, h('strong', {}, 'Not sent: fill in the required fields.')), h('ul', { class: 'issues' }, labels.map((l) => h('li', {}, `${l} is required.`)))));
  missing[0]?.focus();
  return false;
}

/** What the signed-in role may do for this person, each a plain FHIR write the role rules allow. */
export function personActions(api: FhirApi, user: SignedIn, patient: Patient, plans: CarePlan[], refresh: Refresh): HTMLElement | null {
  if (user.role === 'tcm') {
    const forms = (['notify-change-of-needs', 'referral', 'ane-report'] as const).map((kind) => taskForm(api, user, patient, plans, kind, refresh));
    return h('div', {}, importForm(api, refresh), forms);
  }
  if (user.role === 'cc') return h('div', {}, importForm(api, refresh));
  return null;
}
