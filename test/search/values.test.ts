import { describe, expect, it } from 'vitest';
import { dateRange, normalizeString, numberRange } from '../../src/search/values.ts';
import { decodeCursor, encodeCursor } from '../../src/search/paging.ts';

describe('search value forms', () => {
  it('dates stand for the range of their precision (search.html#date)', () => {
    expect(dateRange('2024')).toEqual(['2024-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z']);
    expect(dateRange('2024-02')).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    expect(dateRange('2024-12-31')).toEqual(['2024-12-31T00:00:00.000Z', '2025-01-01T00:00:00.000Z']);
    expect(dateRange('2024-03-04T10:15')).toEqual(['2024-03-04T10:15:00.000Z', '2024-03-04T10:16:00.000Z']);
    expect(dateRange('2024-03-04T10:15:30+02:00')).toEqual(['2024-03-04T08:15:30.000Z', '2024-03-04T08:15:31.000Z']);
    expect(dateRange('2024-03-04T10:15:30.250Z')).toEqual(['2024-03-04T10:15:30.250Z', '2024-03-04T10:15:30.251Z']);
    expect(dateRange('2024-13')).toBeUndefined();
    expect(dateRange('tomorrow')).toBeUndefined();
  });

  it('numbers carry their implicit precision (search.html#number)', () => {
    expect(numberRange('100')).toEqual({ value: '100', half: '5e-1' });
    expect(numberRange('100.00')).toEqual({ value: '100.00', half: '5e-3' });
    expect(numberRange('1e2')).toEqual({ value: '1e2', half: '5e1' });
    expect(numberRange('0.5')).toEqual({ value: '0.5', half: '5e-2' });
    expect(numberRange('abc')).toBeUndefined();
  });

  it('strings compare without case and accents', () => {
    expect(normalizeString('Müller-Ållen')).toBe('muller-allen');
  });

  it('folds the letters Unicode does not decompose: ß, æ, ø, ł (issue 21)', () => {
    expect(normalizeString('Straße')).toBe(normalizeString('STRASSE'));
    expect(normalizeString('Ærø Łódź Œuvre')).toBe('aero lodz oeuvre');
  });

  it('page cursors round-trip and reject tampering', () => {
    const cursor = { direction: 'next' as const, values: ['2024-01-01', null], resourceType: 'Task', id: 't1' };
    expect(decodeCursor(encodeCursor(cursor), 2)).toEqual(cursor);
    expect(() => decodeCursor(encodeCursor(cursor), 1)).toThrow(/_cursor/);
    expect(() => decodeCursor('not-a-cursor', 0)).toThrow(/_cursor/);
  });
});
