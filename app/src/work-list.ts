import type { Patient, Task } from '@medplum/fhirtypes';
import { field, formatDate, formValue, h, show } from './dom.ts';
import type { FhirApi } from './fhir-api.ts';
import { dueOf, isOverdue, KS, personName, TASK_TYPE_WORDS, taskType, type SignedIn } from './kansas.ts';
import { taskActions } from './task-actions.ts';
import { refusalView } from './write-feedback.ts';

const OPEN_STATUSES = 'requested,received,accepted,ready,in-progress,on-hold';

export interface Navigation {
  workList(notice?: string): void;
  person(patientReference: string, notice?: string): void;
}

/** My open Tasks: owned by me or my organization, or requested by me. */
async function myOpenTasks(api: FhirApi, user: SignedIn): Promise<{ tasks: Task[]; people: Map<string, { resourceType: string; id?: string }> }> {
  const owners = [user.fhirUser, user.organization].filter(Boolean).join(',');
  const queries = [`Task?owner=${encodeURIComponent(owners)}&status=${OPEN_STATUSES}&_include=Task:patient&_count=200`];
  if (user.fhirUser) queries.push(`Task?requester=${encodeURIComponent(user.fhirUser)}&status=${OPEN_STATUSES}&_include=Task:patient&_count=200`);
  // Change-of-needs and ISP Tasks no one owns yet (the server found no ISP author or MCO to address) wait for any care coordinator.
  if (user.role === 'cc') {
    const codes = ['notify-change-of-needs', 'update-isp'].map((c) => `${KS.taskType}|${c}`).join(',');
    queries.push(`Task?code=${encodeURIComponent(codes)}&owner:missing=true&status=${OPEN_STATUSES}&_include=Task:patient&_count=200`);
  }
  const results = await Promise.all(queries.map((q) => api.searchWithIncludes<Task>(q)));
  const tasks = new Map<string, Task>();
  const people = new Map<string, { resourceType: string; id?: string }>();
  for (const { matches, included } of results) {
    for (const task of matches) tasks.set(task.id as string, task);
    for (const [key, resource] of included) people.set(key, resource);
  }
  return { tasks: [...tasks.values()], people };
}

/** Overdue first, then by due date (none last), then oldest first. */
export function byUrgency(a: Task, b: Task): number {
  const overdue = Number(isOverdue(b)) - Number(isOverdue(a));
  if (overdue) return overdue;
  const due = (Date.parse(dueOf(a) ?? '') || Infinity) - (Date.parse(dueOf(b) ?? '') || Infinity);
  if (due && !Number.isNaN(due)) return due;
  return (a.authoredOn ?? '').localeCompare(b.authoredOn ?? '');
}

export function taskCard(api: FhirApi, user: SignedIn, task: Task, go: Navigation, personLabel: string | undefined, refresh: (notice: string) => void): HTMLElement {
  const type = taskType(task);
  const overdue = isOverdue(task);
  const summary = task.description ?? task.input?.find((i) => i.valueString)?.valueString;
  const patient = task.for?.reference;
  return h(
    'li',
    { class: overdue ? 'overdue' : undefined, 'data-task': task.id },
    h('h3', {}, `${TASK_TYPE_WORDS[type ?? ''] ?? task.code?.text ?? 'Task'}`, personLabel ? ` – ${personLabel}` : ''),
    h(
      'p',
      {},
      h('span', { class: 'tag' }, task.status),
      ' ',
      task.priority === 'stat' ? h('span', { class: 'tag bad' }, 'urgent') : null,
      ' ',
      overdue ? h('span', { class: 'tag bad' }, 'overdue') : null,
      dueOf(task) ? ` Due ${formatDate(dueOf(task))}.` : '',
      task.authoredOn ? ` Opened ${formatDate(task.authoredOn)}.` : '',
      task.owner ? '' : ' Not assigned yet.',
    ),
    summary ? h('p', { class: 'summary' }, summary.length > 400 ? `${summary.slice(0, 400)}…` : summary) : null,
    patient?.startsWith('Patient/') && go ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => go.person(patient) }, `Open ${personLabel ?? 'person'}`)) : null,
    taskActions(api, user, task, refresh),
  );
}

function personSearch(api: FhirApi, go: Navigation): HTMLElement {
  const results = h('div', { 'aria-live': 'polite' });
  const input = h('input', { name: 'name', type: 'search', autocomplete: 'off' });
  const form = h(
    'form',
    {
      role: 'search',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const name = formValue(form as HTMLFormElement, 'name');
        results.replaceChildren('Searching…');
        api
          .search<Patient>(`Patient?name=${encodeURIComponent(name)}&_count=20`)
          .then((people) =>
            results.replaceChildren(
              people.length
                ? h('ul', {}, people.map((p) => h('li', {}, h('button', { type: 'button', class: 'secondary', onclick: () => go.person(`Patient/${p.id}`) }, personName(p)), p.birthDate ? ` born ${formatDate(p.birthDate)}` : '')))
                : h('p', {}, 'Nobody found with that name.'),
            ),
          )
          .catch((err: unknown) => results.replaceChildren(refusalView(err)));
      },
    },
    field('Find a person by name', input),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search')),
  );
  return h('section', { 'aria-labelledby': 'find-heading' }, h('h2', { id: 'find-heading' }, 'People'), form, results);
}

export async function showWorkList(api: FhirApi, user: SignedIn, go: Navigation, notice?: string): Promise<void> {
  show('My work list', h('p', { role: 'status' }, 'Loading your tasks…'));
  let loaded: Awaited<ReturnType<typeof myOpenTasks>>;
  try {
    loaded = await myOpenTasks(api, user);
  } catch (err) {
    show('My work list', refusalView(err));
    return;
  }
  const tasks = loaded.tasks.sort(byUrgency);
  const overdue = tasks.filter((t) => isOverdue(t)).length;
  const groups = new Map<string, Task[]>();
  for (const task of tasks) {
    const type = taskType(task) ?? 'other';
    groups.set(type, [...(groups.get(type) ?? []), task]);
  }
  // Groups in the order of their most urgent Task, so an overdue group comes first.
  const ordered = [...groups.entries()];
  const labelOf = (task: Task) => {
    const person = loaded.people.get(task.for?.reference ?? '');
    return person ? personName(person as Patient) : undefined;
  };
  const refresh = (message: string) => go.workList(message);
  show(
    'My work list',
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('p', { id: 'task-counts' }, `${tasks.length} open ${tasks.length === 1 ? 'task' : 'tasks'}`, overdue ? `, ${overdue} overdue` : '', '.'),
    ordered.length ? h('ul', { class: 'counts', 'aria-label': 'Open tasks by type' }, ordered.map(([type, list]) => h('li', {}, `${TASK_TYPE_WORDS[type] ?? type}: ${list.length}`))) : null,
    tasks.length === 0 ? h('p', {}, 'Nothing is waiting for you.') : null,
    ordered.map(([type, list]) =>
      h('section', { 'aria-labelledby': `group-${type}` }, h('h2', { id: `group-${type}` }, `${TASK_TYPE_WORDS[type] ?? type} (${list.length})`), h('ul', { class: 'cards' }, list.map((task) => taskCard(api, user, task, go, labelOf(task), refresh)))),
    ),
    user.role === 'tcm' || user.role === 'cc' || user.role === 'provider' || user.role === 'other' ? personSearch(api, go) : null,
  );
}
