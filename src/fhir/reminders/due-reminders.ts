import { createHash } from 'node:crypto';
import type { CarePlan, Observation, Task } from '@medplum/fhirtypes';
import type { JobHandler } from '../../jobs/job-runner.ts';
import { ConcurrentCreateError } from '../../store/store-errors.ts';
import { extension, planTypeOf, profile, system, type TaskType } from '../../workflow/kansas-workflow.ts';
import type { FhirContext } from '../context.ts';
import { caseManagerOf, careCoordinatorOf, readReference } from '../writes/consequences/care-coordinator.ts';
import { serverWriting } from '../writes/write-consequence.ts';
import { writeResource } from '../writes/write-path.ts';

export const DUE_REMINDERS_JOB = 'due-reminders';

const DAY_MS = 86_400_000;
/** Plans or assessments looked at per run; a larger backlog is taken by the next runs (each Task is written once). */
const PER_RUN = 5_000;

const day = (at: number): string => new Date(at).toISOString().slice(0, 10);

/**
 * The Task's id from what it reminds of, the same in every process: `plan-review-due` of a plan
 * and its review date, `assessment-due` of a person and the date of their last assessment. Two
 * processes writing it at once meet at the primary key, and the second finds it there.
 */
function reminderId(key: string): string {
  return `reminder-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

interface Reminder {
  readonly type: Extract<TaskType, 'plan-review-due' | 'assessment-due'>;
  readonly key: string;
  readonly patient: string;
  readonly focus: string;
  readonly owner: Task['owner'];
  readonly due: string;
  readonly description: string;
}

/** Writes the reminder unless it exists; false when it already did (this run, an earlier one, or another process). */
async function remind(ctx: FhirContext, reminder: Reminder): Promise<boolean> {
  const id = reminderId(reminder.key);
  if (await ctx.repo.readCurrent('Task', id)) return false;
  const task: Task = {
    resourceType: 'Task',
    meta: { profile: [profile.workflowTask] },
    identifier: [{ system: system.workflowReminder, value: reminder.key }],
    status: 'ready',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: system.taskType, code: reminder.type }] },
    description: reminder.description,
    focus: { reference: reminder.focus },
    for: { reference: reminder.patient },
    authoredOn: new Date().toISOString(),
    requester: { display: 'kanplan review schedule' },
    ...(reminder.owner ? { owner: reminder.owner } : {}),
    restriction: { period: { end: reminder.due } },
  };
  try {
    await writeResource(serverWriting(ctx), { interaction: 'create', resource: task, id });
    return true;
  } catch (err) {
    if (err instanceof ConcurrentCreateError) return false;
    throw err;
  }
}

/**
 * PCSPs and ISPs (active) whose review due date (ks-review-due-date, the document's nextReviewDate)
 * is at most PLAN_REVIEW_WINDOW_DAYS away, or past: one `plan-review-due` Task per plan and review
 * date, for the plan's TCM (PCSP) or care coordinator (ISP), focus the plan version seen.
 */
async function planReviews(ctx: FhirContext, asOf: number): Promise<number> {
  const until = day(asOf + ctx.config.workflow.planReviewWindowDays * DAY_MS);
  const types = ['pcsp', 'isp'].map((t) => encodeURIComponent(`${system.planType}|${t}`)).join(',');
  let created = 0;
  for (const id of await ctx.search.findMatchingIds(ctx.repo, 'CarePlan', `plan-type=${types}&status=active&review-due-date=le${until}&_sort=review-due-date`, PER_RUN)) {
    const plan = await readReference<CarePlan>(ctx, `CarePlan/${id}`);
    const due = plan?.extension?.find((e) => e.url === extension.reviewDueDate)?.valueDate;
    const patient = plan?.subject?.reference;
    const kind = plan && planTypeOf(plan);
    if (!plan || !due || !patient || (kind !== 'pcsp' && kind !== 'isp')) continue;
    const owner = kind === 'pcsp' ? await caseManagerOf(ctx, patient, plan) : await careCoordinatorOf(ctx, patient, plan);
    const name = plan.identifier?.find((i) => i.system === system.planId)?.value ?? `CarePlan/${id}`;
    created += Number(
      await remind(ctx, {
        type: 'plan-review-due',
        key: `plan-review-due/CarePlan/${id}/${due}`,
        patient,
        focus: `CarePlan/${id}/_history/${plan.meta?.versionId}`,
        owner,
        due,
        description: `The ${kind.toUpperCase()} ${name} is due for review by ${due} (42 CFR 441.301(c)(3): at least every 12 months).`,
      }),
    );
  }
  return created;
}

/**
 * People whose last functional assessment (KS Functional Assessment, BASIS or MFEI) is due again
 * within the window: FUNCTIONAL_ASSESSMENT_INTERVAL_DAYS after it. One `assessment-due` Task per
 * person and last assessment date, for the person's TCM, focus that assessment.
 */
async function assessmentsDue(ctx: FhirContext, asOf: number): Promise<number> {
  const { planReviewWindowDays, functionalAssessmentIntervalDays } = ctx.config.workflow;
  const before = day(asOf + (planReviewWindowDays - functionalAssessmentIntervalDays) * DAY_MS);
  const assessed = encodeURIComponent(profile.functionalAssessment);
  let created = 0;
  const seen = new Set<string>();
  for (const id of await ctx.search.findMatchingIds(ctx.repo, 'Observation', `_profile=${assessed}&status=final,amended,corrected&date=le${before}&_sort=-date`, PER_RUN)) {
    const assessment = await readReference<Observation>(ctx, `Observation/${id}`);
    const patient = assessment?.subject?.reference;
    const on = assessment?.effectiveDateTime?.slice(0, 10);
    if (!assessment || !patient || !on || seen.has(patient)) continue;
    seen.add(patient);
    // A later assessment of the same person restarts the year.
    if ((await ctx.search.findMatchingIds(ctx.repo, 'Observation', `_profile=${assessed}&subject=${patient}&date=gt${on}`, 1)).length > 0) continue;
    const due = day(Date.parse(on) + functionalAssessmentIntervalDays * DAY_MS);
    created += Number(
      await remind(ctx, {
        type: 'assessment-due',
        key: `assessment-due/${patient}/${on}`,
        patient,
        focus: `Observation/${id}`,
        owner: await caseManagerOf(ctx, patient),
        due,
        description: `The annual functional assessment is due by ${due}: the last one was on ${on} (domain.md §4: within 365 days of the last one).`,
      }),
    );
  }
  return created;
}

/** Both reminders as of an instant (the job's period start; tests pass the day they play). */
export async function createDueReminders(ctx: FhirContext, asOf: number): Promise<{ planReviews: number; assessments: number }> {
  return { planReviews: await planReviews(ctx, asOf), assessments: await assessmentsDue(ctx, asOf) };
}

/**
 * The recurring job (issue 16 "Plan review and assessment due"), queued once per
 * REMINDER_JOB_EVERY_MINUTES by whichever process comes first (src/jobs/ RecurringJob) and safe if
 * two ever run at once: each Task has a deterministic id, so it is written once.
 */
export function dueRemindersJob(ctx: FhirContext): JobHandler {
  return {
    kind: DUE_REMINDERS_JOB,
    async run(job) {
      const { at } = JSON.parse(job.input) as { at?: string };
      return JSON.stringify(await createDueReminders(ctx, at ? Date.parse(at) : Date.now()));
    },
  };
}
