import { describe, expect, test } from 'vitest';
import { ScopeRefusal, checkRequestedScopes, describeScope, isWithinAllowed } from '../../../src/auth/server/smart-scopes.ts';

describe('SMART scopes a client may be granted', () => {
  test('a narrower resource scope is within a wider allowed one; a wider or other-context one is not', () => {
    const allowed = ['patient/*.rs', 'user/Task.cruds', 'launch/patient', 'openid'];
    expect(isWithinAllowed('patient/Observation.rs', allowed)).toBe(true);
    expect(isWithinAllowed('patient/Observation.read', allowed)).toBe(true);
    expect(isWithinAllowed('patient/Observation.rs?category=laboratory', allowed)).toBe(true);
    expect(isWithinAllowed('patient/Observation.cruds', allowed)).toBe(false);
    expect(isWithinAllowed('user/Observation.rs', allowed)).toBe(false);
    expect(isWithinAllowed('user/Task.rs?status=requested', allowed)).toBe(true);
    expect(isWithinAllowed('launch', allowed)).toBe(false);
    expect(isWithinAllowed('openid', allowed)).toBe(true);
  });

  test('an allowed scope with criteria covers only the same criteria', () => {
    const allowed = ['patient/Observation.rs?category=vital-signs'];
    expect(isWithinAllowed('patient/Observation.rs?category=vital-signs', allowed)).toBe(true);
    expect(isWithinAllowed('patient/Observation.rs', allowed)).toBe(false);
    expect(isWithinAllowed('patient/Observation.rs?category=laboratory', allowed)).toBe(false);
  });

  test('requests: malformed, beyond allowed, and non-system scopes for client_credentials are refused; other scopes are left alone', () => {
    expect(checkRequestedScopes(['profile', 'openid', 'patient/*.rs'], ['openid', 'patient/*.cruds'], { systemOnly: false })).toEqual(['openid', 'patient/*.rs']);
    expect(() => checkRequestedScopes(['patient/Foo.xyz'], ['patient/*.cruds'], { systemOnly: false })).toThrow(ScopeRefusal);
    expect(() => checkRequestedScopes(['user/*.rs'], ['user/*.cruds'], { systemOnly: true })).toThrow(/system\//);
    expect(() => checkRequestedScopes(['system/*.cruds'], ['system/*.rs'], { systemOnly: true })).toThrow(/beyond/);
  });

  test('the consent page says scopes in plain words', () => {
    expect(describeScope('patient/Observation.rs')).toBe('Read and search Observation records of the selected patient');
    expect(describeScope('user/*.cruds')).toBe('Create, read, update, delete and search all kinds of records you are allowed to see');
    expect(describeScope('offline_access')).toContain('Keep access');
  });
});
