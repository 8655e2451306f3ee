import { describe, expect, test } from 'vitest';
import { CostlySearchSlots, isCostlySearch } from '../../src/fhir/search-limits.ts';

describe('which searches are costly', () => {
  test.each([
    ['Observation?value-string:contains=x', [['value-string:contains', 'x']], true],
    ['a chain ending in :contains', [['subject:Patient.name:contains', 'x']], true],
    ['a chain to an identifier', [['subject:Patient.identifier', 'a|b']], false],
    ['a chain to a name', [['subject.name', 'x']], false],
    ['_has', [['_has:Observation:patient:code', 'x']], true],
    ['_include:iterate', [['_include:iterate', 'CarePlan:goal']], true],
    ['_sort on a search parameter', [['_sort', '-date']], true],
    ['_sort on _lastUpdated then a search parameter', [['_sort', '-_lastUpdated,date']], true],
    ['_total=accurate', [['_total', 'accurate']], true],
    ['a work list sorted by _lastUpdated', [['owner', 'PractitionerRole/x'], ['_sort', '-_lastUpdated']], false],
    ['sorted by _id', [['_sort', '_id']], false],
    ['_revinclude of the page', [['patient', 'Patient/x'], ['_revinclude', 'Provenance:target']], false],
    ['_include of the page', [['_include', 'CarePlan:goal']], false],
    ['plain parameters', [['patient', 'Patient/x'], ['status', 'active']], false],
  ] as [string, [string, string][], boolean][])('%s', (_name, params, costly) => {
    expect(isCostlySearch(params)).toBe(costly);
  });
});

describe('costly-search slots', () => {
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, opened };
  };

  test('a search beyond the limit waits for a slot and runs when one is handed over, in order of arrival', async () => {
    const slots = new CostlySearchSlots(1);
    const first = gate();
    const order: string[] = [];
    const running = slots.run(async () => {
      await first.opened;
      order.push('first');
    });
    const second = slots.run(async () => {
      order.push('second');
      return slots.inUse;
    });
    const third = slots.run(async () => {
      order.push('third');
      return slots.inUse;
    });
    expect(slots.inUse).toBe(1);
    expect(slots.queued).toBe(2);
    first.open();
    await running;
    // The slot passed from one to the next: never more than the limit at once.
    expect(await second).toBe(1);
    expect(await third).toBe(1);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(slots.inUse).toBe(0);
    expect(slots.queued).toBe(0);
  });

  test('more waiting than ten per slot are answered 503 at once, naming the limit', async () => {
    const slots = new CostlySearchSlots(1);
    const held = gate();
    const holder = slots.run(() => held.opened);
    const waiters = Array.from({ length: 10 }, () => slots.run(async () => 'ran'));
    await expect(slots.run(async () => 'ran')).rejects.toMatchObject({ status: 503, retryAfterSeconds: 2 });
    held.open();
    await holder;
    expect(await Promise.all(waiters)).toEqual(Array(10).fill('ran'));
  });
});
