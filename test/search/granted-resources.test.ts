import type { Task } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { reachesResource } from '../../src/search/granted-resources.ts';

const parameters = loadConformance().searchParameters;
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

function task(id: string, security?: string): Task & { id: string } {
  return {
    resourceType: 'Task', id, status: 'requested', intent: 'order', for: { reference: 'Patient/kp-ada' },
    ...(security ? { meta: { security: [{ system: CONFIDENTIALITY, code: security }] } } : {}),
  };
}

/** Judging a grant on a resource's content (writes, and subscription matching: docs/architecture.md "Subscriptions"). */
describe('reachesResource', () => {
  test(':not on a token: reached when no value matches, an absent element included (R4 search.html#token)', () => {
    const notRestricted = { patients: ['kp-ada'], criteria: `_security:not=${CONFIDENTIALITY}|R` };
    expect(reachesResource(parameters, task('kp-plain'), notRestricted)).toBe(true);
    expect(reachesResource(parameters, task('kp-normal', 'N'), notRestricted)).toBe(true);
    expect(reachesResource(parameters, task('kp-restricted', 'R'), notRestricted)).toBe(false);
    // Still confined to the patient.
    expect(reachesResource(parameters, { ...task('kp-other'), for: { reference: 'Patient/kp-bo' } }, notRestricted)).toBe(false);
  });

  test('a modifier it cannot judge on content leaves the answer undefined (treated as not reached)', () => {
    expect(reachesResource(parameters, task('kp-plain'), { criteria: 'status:missing=false' })).toBeUndefined();
    expect(reachesResource(parameters, task('kp-plain'), { criteria: 'patient:not=Patient/kp-bo' })).toBeUndefined();
  });
});
