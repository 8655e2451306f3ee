import type { Goal } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { system } from '../../src/workflow/kansas-workflow.ts';
import { brokenRoleRule, planOfItemMatters, type WorkflowActor, type WorkflowWrite } from '../../src/workflow/role-rules.ts';

const goal: Goal = {
  resourceType: 'Goal',
  identifier: [{ system: system.planItem, value: 'ISP-FICTIONAL-1/goal/1' }],
  lifecycleStatus: 'active',
  description: { text: 'Keep a job in the community' },
  subject: { reference: 'Patient/fictional-1' },
};
const write: WorkflowWrite = { interaction: 'create', resourceType: 'Goal', next: goal };
const tcm: WorkflowActor = { kind: 'practitioner', reference: 'PractitionerRole/tcm-fictional', role: 'targeted-case-manager' };

describe('whether the plan of a written item can change the role rules verdict', () => {
  it('matters for a targeted case manager: an ISP item is refused, a PCSP item allowed', () => {
    expect(planOfItemMatters(tcm, write)).toBe(true);
    expect(brokenRoleRule(tcm, { ...write, itemOfPlan: 'isp' })?.name).toBe('ks-isp-author');
    expect(brokenRoleRule(tcm, { ...write, itemOfPlan: 'pcsp' })).toBeUndefined();
  });

  it('does not matter for a system token, which every plan rule trusts, nor for the administrator', () => {
    expect(planOfItemMatters({ kind: 'system' }, write)).toBe(false);
    expect(planOfItemMatters({ kind: 'system', organization: 'Organization/mco-fictional' }, write)).toBe(false);
    expect(planOfItemMatters({ kind: 'administrator' }, write)).toBe(false);
  });

  it('matters for a person only in which rule the refusal names, so it is looked up to name the same one', () => {
    const person: WorkflowActor = { kind: 'person', reference: 'Patient/fictional-1' };
    expect(planOfItemMatters(person, write)).toBe(true);
    expect(brokenRoleRule(person, write)?.name).toBe('ks-person-reads-own');
    expect(brokenRoleRule(person, { ...write, itemOfPlan: 'isp' })?.name).toBe('ks-isp-author');
  });
});
