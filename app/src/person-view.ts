import type { CarePlan, Contract, Goal, Patient, Provenance, ServiceRequest, Task } from '@medplum/fhirtypes';
import { formatDate, h, show } from './dom.ts';
import type { FhirApi } from './fhir-api.ts';
import { codeIn, conceptText, KS, personName, PLAN_TYPE_WORDS, planType, type SignedIn } from './kansas.ts';
import { authorizeForm, decisionOf, personActions } from './person-actions.ts';
import { signaturesSection } from './plan-signatures.ts';
import { byUrgency, taskCard, type Navigation } from './work-list.ts';
import { refusalView } from './write-feedback.ts';

function table(caption: string, head: string[], rows: (string | HTMLElement)[][]): HTMLElement {
  // A wide table scrolls on a phone; the region is focusable so the keyboard can scroll it too.
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption }, h('table', {}, h('caption', { class: 'muted' }, caption), h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

function units(service: ServiceRequest): string {
  const q = service.quantityQuantity;
  const period = service.occurrencePeriod ? ` ${formatDate(service.occurrencePeriod.start)} – ${formatDate(service.occurrencePeriod.end)}` : '';
  return q ? `${q.value ?? ''} ${q.unit ?? q.code ?? ''}${period}` : period.trim();
}

/** The printable plan, from $render (HTML), shown in a frame that can be printed. */
function planSection(api: FhirApi, plan: CarePlan): HTMLElement {
  const type = planType(plan);
  const label = PLAN_TYPE_WORDS[type ?? ''] ?? plan.title ?? 'Plan';
  const holder = h('div');
  const button = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: () => {
        holder.replaceChildren('Loading the plan…');
        api
          .text(`CarePlan/${plan.id}/$render`, 'text/html')
          .then((html) => {
            const frame = h('iframe', { class: 'plan', title: `Printable ${label}`, sandbox: 'allow-same-origin allow-modals' }) as HTMLIFrameElement;
            frame.srcdoc = html;
            holder.replaceChildren(frame, h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => frame.contentWindow?.print() }, `Print the ${type?.toUpperCase() ?? 'plan'}`)));
          })
          .catch((err: unknown) => holder.replaceChildren(refusalView(err)));
      },
    },
    `Show the ${type?.toUpperCase() ?? 'plan'}`,
  );
  return h('li', { 'data-plan': type }, h('h3', {}, label), h('p', {}, h('span', { class: 'tag' }, plan.status), plan.period ? ` ${formatDate(plan.period.start)} – ${formatDate(plan.period.end)}` : ''), h('div', { class: 'actions' }, button), holder);
}

async function optional<T>(load: Promise<T[]>): Promise<T[] | undefined> {
  try {
    return await load;
  } catch {
    return undefined;
  }
}

export async function showPerson(api: FhirApi, user: SignedIn, go: Navigation, patientReference: string, notice?: string): Promise<void> {
  show('Person', h('p', { role: 'status' }, 'Loading…'));
  const subject = encodeURIComponent(patientReference);
  let patient: Patient;
  let plans: CarePlan[];
  try {
    [patient, plans] = await Promise.all([api.read<Patient>(patientReference), api.search<CarePlan>(`CarePlan?subject=${subject}&_count=50`)]);
  } catch (err) {
    show('Person', refusalView(err), user.role !== 'guardian' && user.role !== 'person' ? h('button', { type: 'button', onclick: () => go.workList() }, 'Back to my work list') : null);
    return;
  }
  const [goals, services, tasks, provenance, signatures] = await Promise.all([
    optional(api.search<Goal>(`Goal?subject=${subject}&_count=100`)),
    optional(api.search<ServiceRequest>(`ServiceRequest?subject=${subject}&_count=200`)),
    optional(api.search<Task>(`Task?patient=${subject}&_count=100`)),
    optional(api.search<Provenance>(`Provenance?patient=${subject}&_sort=-recorded&_count=50`)),
    optional(api.search<Contract>(`Contract?patient=${subject}&_count=100`)),
  ]);
  const refresh = (message: string) => go.person(patientReference, message);
  const planned = (services ?? []).filter((s) => s.intent === 'plan');
  const authorized = (services ?? []).filter((s) => s.intent === 'order' && s.meta?.profile?.includes(KS.authorizedService));
  const name = personName(patient);
  const activePlans = plans.filter((p) => p.status !== 'revoked' && p.status !== 'entered-in-error' && planType(p));
  show(
    name,
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('p', { class: 'muted' }, patient.birthDate ? `Born ${formatDate(patient.birthDate)}.` : ''),
    user.role !== 'guardian' && user.role !== 'person' ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => go.workList() }, 'Back to my work list')) : null,
    h('section', { 'aria-labelledby': 'plans-heading' }, h('h2', { id: 'plans-heading' }, 'Plans'), activePlans.length ? h('ul', { class: 'cards' }, activePlans.map((p) => planSection(api, p))) : h('p', {}, 'No plans yet.')),
    signaturesSection(api, user, patientReference, activePlans, signatures, refresh),
    h(
      'section',
      { 'aria-labelledby': 'goals-heading' },
      h('h2', { id: 'goals-heading' }, 'Goals'),
      goals?.length
        ? table('Goals, their status and progress', ['Goal', 'Status', 'Progress', 'Target date'], goals.map((g) => [conceptText(g.description), g.lifecycleStatus ?? '', conceptText(g.achievementStatus) || 'not recorded', formatDate(g.target?.[0]?.dueDate)]))
        : h('p', {}, 'No goals recorded.'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'services-heading' },
      h('h2', { id: 'services-heading' }, 'Services: planned and authorized'),
      planned.length
        ? table(
            'Each planned service next to what the MCO authorized',
            ['Service', 'Planned', 'Authorized', 'Decision'],
            planned.map((p) => {
              const auth = authorized.filter((a) => a.basedOn?.some((b) => b.reference === `ServiceRequest/${p.id}`));
              const decided = auth.map((a) => {
                const decision = decisionOf(a);
                const number = a.identifier?.find((i) => codeIn(i.type, KS.identifierType) === 'authorization-number')?.value;
                return h('div', {}, h('span', { class: `tag ${decision.code === 'denied' ? 'bad' : decision.code === 'approved' ? 'ok' : ''}` }, decision.words), decision.reason ? ` ${decision.reason}` : '', number ? ` (authorization ${number})` : '');
              });
              const cell = auth.length ? h('div', {}, decided) : user.role === 'cc' ? authorizeForm(api, user, p, plans, refresh) : h('span', {}, 'Not decided yet');
              return [h('span', { 'data-service': p.id }, conceptText(p.code)), units(p), auth.map(units).join('; ') || '—', cell];
            }),
          )
        : h('p', {}, 'No planned services.'),
    ),
    h('section', { 'aria-labelledby': 'tasks-heading' }, h('h2', { id: 'tasks-heading' }, 'Tasks'), tasks?.length ? h('ul', { class: 'cards' }, [...tasks].sort(byUrgency).map((t) => taskCard(api, user, t, undefined as unknown as Navigation, undefined, refresh))) : h('p', {}, 'No tasks.')),
    h(
      'section',
      { 'aria-labelledby': 'timeline-heading' },
      h('h2', { id: 'timeline-heading' }, 'Who changed what'),
      provenance?.length
        ? h('ol', {}, provenance.map((p) => h('li', {}, `${formatDate(p.recorded)}: ${p.agent?.map((a) => a.who?.display ?? a.who?.reference).filter(Boolean).join(', ') || 'someone'} ${conceptText(p.activity) || 'changed'} ${p.target?.map((t) => t.reference?.split('/_history')[0]).join(', ') ?? ''}`)))
        : h('p', {}, 'No change history is available.'),
    ),
    personActions(api, user, patient, plans, refresh),
  );
}
