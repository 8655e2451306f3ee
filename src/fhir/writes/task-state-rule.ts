import type { Task } from '@medplum/fhirtypes';
import type { WorkflowActor } from '../../workflow/role-rules.ts';
import { actsAs } from '../../workflow/role-rules.ts';
import { isPlanStep, taskTypeOf } from '../../workflow/kansas-workflow.ts';
import { REASON_REQUIRED, TERMINAL_STATES, allowedNext, describeParty, stateMachineOf, type TaskStatus, type TaskTransition } from '../../workflow/task-states.ts';
import { callerOfContext } from '../access/caller-access.ts';
import type { WriteRule, WriteRuleResult } from './write-rule.ts';

const ACCEPTED: WriteRuleResult = { issues: [] };

function conflict(diagnostics: string): WriteRuleResult {
  return { issues: [{ severity: 'error', code: 'business-rule', diagnostics }], rejectionStatus: 409 };
}

function listed(transitions: readonly TaskTransition[]): string {
  return transitions.length ? transitions.map((t) => `${t.to} (by the ${describeParty(t.by)})`).join(', ') : 'none';
}

/** Whether the actor is the party a move needs; administrators and systems (acting for their organization) make any move. */
function isParty(actor: WorkflowActor, task: Task, by: TaskTransition['by']): boolean {
  if (actor.kind === 'administrator' || (actor.kind === 'system' && actor.organization === undefined)) return true;
  const requester = actsAs(actor, task.requester?.reference);
  const owner = actsAs(actor, task.owner?.reference);
  return by === 'either' ? requester || owner : by === 'requester' ? requester : owner;
}

/**
 * The Task state machine on every Task write (src/workflow/task-states.ts): a new Task starts in
 * one of its type's initial states; a status change must be a listed move, made by the party
 * the table names (owner vs requester; 403), and nothing leaves a terminal state. An illegal move
 * is 409 naming the current state and the allowed next ones; a move to rejected or cancelled
 * without a statusReason is 422 saying what to add. AUTH_MODE=off still obeys the moves.
 */
export const taskStateRule: WriteRule = {
  name: 'Task state machine',
  async check(write, ctx) {
    if (write.resourceType !== 'Task' || !write.next) return ACCEPTED;
    const next = write.next as Task;
    if (isPlanStep(next)) return ACCEPTED;
    const machine = stateMachineOf(taskTypeOf(next));
    const key = `Task/${write.id}`;
    if (!write.previous) {
      // Tasks of no Kansas type (other apps' work items) may be recorded in any state; their moves are checked.
      return taskTypeOf(next) === undefined || machine.initial.includes(next.status as TaskStatus)
        ? ACCEPTED
        : conflict(`A new ${taskTypeOf(next) ?? 'Task'} Task starts as ${machine.initial.join(' or ')}, not '${next.status}' (${machine.source}).`);
    }
    const previous = write.previous as Task;
    const from = previous.status as TaskStatus;
    if (from === next.status) return ACCEPTED;
    const options = allowedNext(machine, from);
    const move = options.find((t) => t.to === next.status);
    if (!move) {
      const terminal = TERMINAL_STATES.has(from) ? ' (a terminal state: nothing leaves it)' : '';
      return conflict(`${key} is '${from}'${terminal}; it cannot become '${next.status}'. Allowed next states: ${listed(options)}. Rule: ${machine.source}.`);
    }
    const actor = (await callerOfContext(ctx)).actor;
    if (!isParty(actor, previous, move.by)) {
      return {
        issues: [
          {
            severity: 'error',
            code: 'forbidden',
            diagnostics: `Rule ks-task-parties: moving ${key} from '${from}' to '${next.status}' is for the Task's ${describeParty(move.by)} (requester ${previous.requester?.reference ?? 'none'}, owner ${previous.owner?.reference ?? 'none'}); ${ctx.access.fhirUser ?? 'this caller'} is not it.`,
          },
        ],
        rejectionStatus: 403,
      };
    }
    if (REASON_REQUIRED.has(move.to) && !next.statusReason?.text && !next.statusReason?.coding?.length) {
      return {
        issues: [
          {
            severity: 'error',
            code: 'required',
            expression: ['Task.statusReason'],
            diagnostics: `Rule ks-task-status-reason: moving ${key} to '${move.to}' needs the reason: add Task.statusReason with its text (e.g. "statusReason": {"text": "The person moved out of the service area"}).`,
          },
        ],
        rejectionStatus: 422,
      };
    }
    return ACCEPTED;
  },
};
