import type { CarePlan, Task } from '@medplum/fhirtypes';
import { field, formValue, h } from './dom.ts';
import type { FhirApi } from './fhir-api.ts';
import { KS, taskType, type SignedIn } from './kansas.ts';
import { currentPcspVersion } from './person-actions.ts';
import { runWrite } from './write-feedback.ts';

/** One button: a plain FHIR write of the Task (or the ISP), its result said in words next to it. */
interface TaskMove {
  readonly label: string;
  readonly statuses: readonly Task['status'][];
  readonly danger?: boolean;
}

/**
 * A provider moves a referral it owns through the Kansas referral states
 * (requested → received → accepted → in-progress → completed, or rejected), each step a PUT.
 */
function referralMoves(task: Task): TaskMove[] {
  switch (task.status) {
    case 'requested':
      return [{ label: 'Accept', statuses: ['received', 'accepted'] }, { label: 'Reject', statuses: ['rejected'], danger: true }];
    case 'received':
      return [{ label: 'Accept', statuses: ['accepted'] }, { label: 'Reject', statuses: ['rejected'], danger: true }];
    case 'accepted':
      return [{ label: 'Start', statuses: ['in-progress'] }, { label: 'Mark complete', statuses: ['completed'] }];
    case 'in-progress':
      return [{ label: 'Mark complete', statuses: ['completed'] }];
    default:
      return [];
  }
}

async function move(api: FhirApi, task: Task, statuses: readonly Task['status'][], reason?: string): Promise<Task> {
  let current = task;
  for (const status of statuses) current = await api.write<Task>('PUT', `Task/${current.id}`, { ...current, status, ...(reason ? { statusReason: { text: reason } } : {}) });
  return current;
}

/**
 * Rejecting a referral says why (Task.statusReason, rule ks-task-status-reason): the reason field
 * is not blocked in the browser, so a rejection without one gets the server's own 422 in words.
 */
function rejectForm(api: FhirApi, task: Task, m: TaskMove, status: HTMLElement, refresh: (notice: string) => void): HTMLElement {
  const form = h(
    'form',
    {
      class: 'reject',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const reason = formValue(form as HTMLFormElement, 'reason');
        void runWrite(status, () => move(api, task, m.statuses, reason || undefined).then((t) => `Referral is now ${t.status}.`), refresh);
      },
    },
    field('Reason for rejecting', h('input', { name: 'reason', autocomplete: 'off' }), 'The requester sees this reason.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, m.label)),
  );
  return form;
}

/**
 * The care coordinator completes the ISP update for a change of needs: the ISP now integrates the
 * PCSP version the Task points at (basedOn the versioned PCSP), which closes the Task on the server.
 */
async function completeIspUpdate(api: FhirApi, task: Task): Promise<string> {
  const patient = task.for?.reference;
  if (!patient) throw new Error('This Task names no person.');
  // A change in needs recorded without a plan version is about the person's current PCSP.
  const focus = task.focus?.reference ?? currentPcspVersion(await api.search<CarePlan>(`CarePlan?subject=${encodeURIComponent(patient)}&plan-type=${encodeURIComponent(`${KS.planType}|pcsp`)}&_count=10`)) ?? '';
  const [, pcspId] = /^CarePlan\/([^/]+)/.exec(focus) ?? [];
  if (!pcspId) throw new Error('This person has no PCSP for the ISP to integrate.');
  const isps = await api.search<CarePlan>(`CarePlan?subject=${encodeURIComponent(patient)}&plan-type=${encodeURIComponent('https://kanplan.org/fhir/CodeSystem/ks-plan-type|isp')}&status=active,draft`);
  const isp = isps[0];
  if (!isp) throw new Error('This person has no ISP yet: import the ISP first.');
  const others = (isp.basedOn ?? []).filter((b) => !b.reference?.startsWith(`CarePlan/${pcspId}`));
  await api.write('PUT', `CarePlan/${isp.id}`, { ...isp, basedOn: [...others, { reference: focus }] });
  return 'The ISP now includes this change; the Task is complete.';
}

export function taskActions(api: FhirApi, user: SignedIn, task: Task, refresh: (notice: string) => void): HTMLElement | null {
  const type = taskType(task);
  const open = !['completed', 'cancelled', 'rejected', 'failed', 'entered-in-error'].includes(task.status);
  const buttons: HTMLElement[] = [];
  const forms: HTMLElement[] = [];
  const status = h('p', { role: 'status', class: 'muted' });
  if (user.role === 'provider' && type === 'referral') {
    for (const m of referralMoves(task)) {
      if (m.danger) forms.push(rejectForm(api, task, m, status, refresh));
      else buttons.push(h('button', { type: 'button', onclick: () => void runWrite(status, () => move(api, task, m.statuses).then((t) => `Referral is now ${t.status}.`), refresh) }, m.label));
    }
  }
  if (user.role === 'cc' && type === 'notify-change-of-needs' && open) {
    buttons.push(h('button', { type: 'button', onclick: () => void runWrite(status, () => completeIspUpdate(api, task), refresh) }, 'Complete the ISP update'));
  }
  if (!buttons.length && !forms.length) return null;
  return h('div', {}, buttons.length ? h('div', { class: 'actions' }, buttons) : null, forms, status);
}
