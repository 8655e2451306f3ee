import { describe, expect, test } from 'vitest';
import type { AccessContext } from '../../src/auth/access.ts';
import { callerOf, decideAccess, unconfinedEverywhere, type Caller } from '../../src/auth/access-policy.ts';
import { parseScopes } from '../../src/auth/scopes.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';

const parameters = loadConformance().searchParameters;
/** A targeted case manager: the role rules do not narrow their reads, so these tests see scopes alone. */
const TCM = { kind: 'practitioner', reference: 'PractitionerRole/kp-tcm', role: 'targeted-case-manager' } as const;

function caller(scope: string, claims: Partial<AccessContext> = {}, userPatients?: string[]): Caller {
  return { access: { subject: 'test', scopes: parseScopes(scope), ...claims }, actor: TCM, ...(userPatients ? { userPatients } : {}) };
}

describe('access policy', () => {
  test('system/ and unconfined user/ grants are unconfined; the hot path is recognised', () => {
    expect(decideAccess(caller('system/*.cruds'), 'CarePlan', 'r', parameters)).toEqual({ kind: 'unconfined' });
    expect(decideAccess(caller('user/CarePlan.rs'), 'CarePlan', 's', parameters)).toEqual({ kind: 'unconfined' });
    expect(unconfinedEverywhere(caller('system/*.cruds'), 'r')).toBe(true);
    expect(unconfinedEverywhere(caller('user/*.rs', {}, ['kp-ada']), 'r')).toBe(false);
    expect(unconfinedEverywhere(caller('patient/*.rs', { patient: 'kp-ada' }), 's')).toBe(false);
  });

  test('patient/ grants confine to the patient claim; without one they give nothing and say so', () => {
    expect(decideAccess(caller('patient/Goal.rs', { patient: 'kp-ada' }), 'Goal', 'r', parameters)).toEqual({
      kind: 'confined',
      confinements: [{ patients: ['kp-ada'], scope: 'patient/Goal.rs' }],
    });
    const denied = decideAccess(caller('patient/Goal.rs'), 'Goal', 'r', parameters);
    expect(denied.kind).toBe('denied');
    expect(denied.kind === 'denied' && denied.reason).toContain('no patient claim');
  });

  test('grants add up: any unconfined grant wins, else every confinement is an alternative', () => {
    const two = decideAccess(caller('user/Task.rs?status=requested patient/Task.rs', { patient: 'kp-ada' }), 'Task', 's', parameters);
    expect(two).toEqual({
      kind: 'confined',
      confinements: [
        { criteria: 'status=requested', scope: 'user/Task.rs?status=requested' },
        { patients: ['kp-ada'], scope: 'patient/Task.rs' },
      ],
    });
    expect(decideAccess(caller('patient/Task.rs system/Task.r', { patient: 'kp-ada' }), 'Task', 'r', parameters)).toEqual({ kind: 'unconfined' });
  });

  test('outside the Patient compartment: directory types readable, nothing else, and never written', () => {
    const ada = caller('patient/*.cruds', { patient: 'kp-ada' });
    expect(decideAccess(ada, 'Practitioner', 'r', parameters)).toEqual({ kind: 'unconfined' });
    expect(decideAccess(ada, 'Practitioner', 'u', parameters).kind).toBe('denied');
    expect(decideAccess(ada, 'Binary', 'r', parameters).kind).toBe('denied');
  });

  test("a plan's signatures (Contract) are the person's through their subject: a criteria confinement, and-ed with the grant's own", () => {
    const ada = caller('patient/*.cruds', { patient: 'kp-ada' });
    for (const permission of ['r', 's', 'c', 'u'] as const) {
      expect(decideAccess(ada, 'Contract', permission, parameters)).toEqual({ kind: 'confined', confinements: [{ criteria: 'patient=Patient/kp-ada', scope: 'patient/*.cruds' }] });
    }
    const narrowed = decideAccess(caller('patient/Contract.rs?status=executed', { patient: 'kp-ada' }), 'Contract', 's', parameters);
    expect(narrowed).toEqual({ kind: 'confined', confinements: [{ criteria: 'status=executed&patient=Patient/kp-ada', scope: 'patient/Contract.rs?status=executed' }] });
  });

  test('denials name a scope that would allow the request', () => {
    const denied = decideAccess(caller('user/Goal.rs'), 'CarePlan', 'c', parameters);
    expect(denied.kind === 'denied' && denied.reason).toContain('user/CarePlan.c');
  });

  test('fhirUser: Patient confines to themselves, RelatedPerson to their person (read once per token), practitioners not at all', async () => {
    let lookups = 0;
    const lookup = async () => {
      lookups++;
      return { resourceType: 'RelatedPerson', patient: { reference: 'Patient/kp-ada' } };
    };
    const guardian: AccessContext = { subject: 'g', scopes: parseScopes('user/*.rs'), fhirUser: 'RelatedPerson/kp-guardian' };
    expect((await callerOf(guardian, lookup)).userPatients).toEqual(['kp-ada']);
    await callerOf(guardian, lookup);
    expect(lookups).toBe(1);
    expect((await callerOf({ subject: 'p', scopes: parseScopes('user/*.rs'), fhirUser: 'Patient/kp-bo' }, lookup)).userPatients).toEqual(['kp-bo']);
    expect((await callerOf({ subject: 'd', scopes: parseScopes('user/*.rs'), fhirUser: 'PractitionerRole/kp-tcm' }, lookup)).userPatients).toBeUndefined();
    const orphan = await callerOf({ subject: 'o', scopes: parseScopes('user/*.rs'), fhirUser: 'RelatedPerson/kp-nobody' }, async () => undefined);
    const denied = decideAccess(orphan, 'CarePlan', 'r', parameters);
    expect(denied.kind === 'denied' && denied.reason).toContain('names no patient');
  });
});
