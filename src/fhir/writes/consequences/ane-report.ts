import type { Task } from '@medplum/fhirtypes';
import { RESTRICTED_LABEL, isRestricted, taskTypeOf } from '../../../workflow/kansas-workflow.ts';
import { writeResource } from '../write-path.ts';
import { serverWriting, type WriteConsequence } from '../write-consequence.ts';

/**
 * issue 16 "ANE report" (domain.md §6c): an `ane-report` Task is priority `stat`, labelled
 * restricted (v3-Confidentiality R: only the reporter, the person's TCM and care coordinator and
 * systems read it, src/workflow/role-rules.ts), and carries its reporting deadline in
 * `restriction.period` — authoredOn plus ANE_REPORT_DEADLINE_HOURS, a setting because Kansas law
 * says "promptly" without an hour count. The server completes what the reporter left out, in the
 * same transaction; overdue reports: `Task?code=…|ane-report&status=requested,in-progress&restriction-period=eb<now>`.
 */
export const aneReportConsequence: WriteConsequence = {
  name: 'ANE report: stat, restricted, deadline',
  resourceTypes: new Set(['Task']),
  concernsCreated: (resource) => taskTypeOf(resource as Task) === 'ane-report',
  async follow(written, ctx) {
    const task = written.next as (Task & { id: string }) | undefined;
    if (!task || taskTypeOf(task) !== 'ane-report') return;
    if (task.priority === 'stat' && isRestricted(task) && task.restriction?.period?.end) return;
    const start = task.authoredOn ?? new Date().toISOString();
    const end = new Date(Date.parse(start) + ctx.config.workflow.aneReportDeadlineHours * 3_600_000).toISOString();
    const { versionId: _v, lastUpdated: _l, ...meta } = task.meta ?? {};
    const shaped: Task & { id: string } = {
      ...task,
      meta: { ...meta, security: [...(meta.security ?? []).filter((l) => !(l.system === RESTRICTED_LABEL.system && l.code === RESTRICTED_LABEL.code)), { ...RESTRICTED_LABEL }] },
      priority: 'stat',
      authoredOn: start,
      restriction: { ...task.restriction, period: { start, ...task.restriction?.period, end: task.restriction?.period?.end ?? end } },
    };
    await writeResource(serverWriting(ctx), { interaction: 'update', resource: shaped });
  },
};
