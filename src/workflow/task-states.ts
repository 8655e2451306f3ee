import type { TaskType } from './kansas-workflow.ts';

/**
 * The Task state machine as data. FHIR R4 Task status codes
 * (https://hl7.org/fhir/R4/valueset-task-status.html); which moves are allowed and who makes each
 * follow the Gravity referral table (shared/standards.md §3.2, SDOHCC Task For Referral
 * Management: "set by Requester / Referral Target"), narrowed per Kansas task type below. Core R4
 * leaves enforcement to each workflow ("not all states will be supported by all workflows",
 * https://hl7.org/fhir/R4/task.html#statemachine); kanplan enforces these on every Task write.
 */
export type TaskStatus =
  | 'draft' | 'requested' | 'received' | 'accepted' | 'rejected' | 'ready' | 'cancelled'
  | 'in-progress' | 'on-hold' | 'failed' | 'completed' | 'entered-in-error';

/** Who may make a move: the Task's requester, its owner (the receiving party), or either. */
export type TaskParty = 'requester' | 'owner' | 'either';

export interface TaskTransition {
  readonly from: TaskStatus;
  readonly to: TaskStatus;
  readonly by: TaskParty;
}

export interface TaskStateMachine {
  /** Where it comes from, for messages. */
  readonly source: string;
  /** The statuses a new Task of this type may start in. */
  readonly initial: readonly TaskStatus[];
  readonly transitions: readonly TaskTransition[];
}

/** No move leaves these (issue 16; Gravity's diagram draws none). */
export const TERMINAL_STATES: ReadonlySet<TaskStatus> = new Set(['completed', 'cancelled', 'failed', 'rejected', 'entered-in-error']);

/**
 * Moves that must say why: a rejected or cancelled Task carries `statusReason` (issue 16 "Referral
 * and linkage": "rejected/cancelled with a reason"; Gravity's statusReason is MustSupport with
 * `text` 1..1, shared/standards.md §3.1), so the other party learns why the work stopped.
 */
export const REASON_REQUIRED: ReadonlySet<TaskStatus> = new Set(['rejected', 'cancelled']);

function moves(from: TaskStatus, by: TaskParty, ...to: TaskStatus[]): TaskTransition[] {
  return to.map((status) => ({ from, to: status, by }));
}

/** Every non-terminal state may be marked entered-in-error by the requester (Gravity: "any → Entered in Error", set by Requester). */
function enteredInError(states: readonly TaskStatus[]): TaskTransition[] {
  return states.map((from) => ({ from, to: 'entered-in-error', by: 'requester' }));
}

/**
 * The Gravity referral table, with `received` between requested and accepted as the Kansas
 * referral flow names it (issue 16: requested → received → accepted → in-progress → completed)
 * and R4 core's `ready` (owner known, acceptance a given) for work the server assigns.
 */
export const GRAVITY_STATE_MACHINE: TaskStateMachine = {
  source: 'Gravity SDOHCC Task For Referral Management status table (shared/standards.md §3.2)',
  initial: ['draft', 'requested', 'ready'],
  transitions: [
    ...moves('draft', 'requester', 'requested', 'cancelled'),
    ...moves('requested', 'owner', 'received', 'accepted', 'rejected'),
    ...moves('requested', 'either', 'cancelled'),
    ...moves('received', 'owner', 'accepted', 'rejected'),
    ...moves('received', 'either', 'cancelled'),
    ...moves('accepted', 'owner', 'in-progress', 'on-hold', 'completed', 'failed'),
    ...moves('accepted', 'either', 'cancelled'),
    ...moves('in-progress', 'owner', 'on-hold', 'completed', 'failed'),
    ...moves('in-progress', 'either', 'cancelled'),
    ...moves('on-hold', 'owner', 'in-progress', 'completed', 'failed'),
    ...moves('on-hold', 'either', 'cancelled'),
    ...moves('ready', 'owner', 'in-progress', 'on-hold', 'completed', 'failed'),
    ...moves('ready', 'either', 'cancelled'),
    ...enteredInError(['draft', 'requested', 'received', 'accepted', 'in-progress', 'on-hold', 'ready']),
  ],
};

/**
 * Information Tasks between TCM and care coordinator (notify-change-of-needs, update-isp, the
 * authorization decision the TCM is told of, a request for input either way): the
 * receiver may acknowledge (received), work on it, or close it at once; saving an ISP that
 * integrates the plan version closes it (issue 16 "ISP update"). Nobody rejects a change of needs.
 */
const INFORMATION_TASK: TaskStateMachine = {
  source: 'Kansas TCM ⇄ care coordinator exchange (issue 16, seeds "Notify and provide information to the MCO Care Coordinator")',
  initial: ['requested'],
  transitions: [
    ...moves('requested', 'owner', 'received', 'in-progress', 'completed'),
    ...moves('received', 'owner', 'in-progress', 'completed'),
    ...moves('in-progress', 'owner', 'completed'),
    ...moves('requested', 'requester', 'cancelled'),
    ...moves('received', 'requester', 'cancelled'),
    ...moves('in-progress', 'requester', 'cancelled'),
    ...enteredInError(['requested', 'received', 'in-progress']),
  ],
};

/** Reminders the server assigns (plan-review-due, assessment-due): owner known, so `ready` (R4 core). */
const REMINDER_TASK: TaskStateMachine = {
  source: 'R4 Task state machine, ready → in-progress → completed (https://hl7.org/fhir/R4/task.html#statemachine)',
  initial: ['ready'],
  transitions: [...moves('ready', 'owner', 'in-progress', 'completed', 'cancelled'), ...moves('in-progress', 'owner', 'completed', 'cancelled'), ...enteredInError(['ready', 'in-progress'])],
};

/**
 * An ANE report goes to DCF (Kansas Protection Report Center) or KDADS, which never writes here:
 * the reporter records that it was made (completed, with the intake id as output) or withdrawn.
 * Reporting is "promptly" (K.S.A. 39-1431, 38-2223; domain.md §6).
 */
const ANE_REPORT: TaskStateMachine = {
  source: 'Kansas ANE reporting (domain.md §6c), reporter-recorded',
  initial: ['requested', 'in-progress'],
  transitions: [
    ...moves('requested', 'either', 'in-progress', 'completed', 'cancelled'),
    ...moves('in-progress', 'either', 'completed', 'cancelled'),
    ...enteredInError(['requested', 'in-progress']),
  ],
};

/** The machine per Kansas task type; Tasks of other codes follow Gravity. */
export const TASK_STATE_MACHINES: Readonly<Partial<Record<TaskType, TaskStateMachine>>> = {
  'notify-change-of-needs': INFORMATION_TASK,
  'update-isp': INFORMATION_TASK,
  'authorization-decision': INFORMATION_TASK,
  'input-request': INFORMATION_TASK,
  'plan-review-due': REMINDER_TASK,
  'assessment-due': REMINDER_TASK,
  'ane-report': ANE_REPORT,
  referral: GRAVITY_STATE_MACHINE,
};

export function stateMachineOf(type: TaskType | undefined): TaskStateMachine {
  return (type && TASK_STATE_MACHINES[type]) ?? GRAVITY_STATE_MACHINE;
}

export function allowedNext(machine: TaskStateMachine, from: TaskStatus): readonly TaskTransition[] {
  return machine.transitions.filter((t) => t.from === from);
}

export function describeParty(party: TaskParty): string {
  return party === 'either' ? 'requester or owner' : party;
}
