import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { syntheaShapedPatient } from '../../bench/search/synthea-shaped.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { ParameterEvaluation } from '../../src/search/parameter-evaluation.ts';

/**
 * Index extraction evaluates every search parameter of a resource with the element lookups shared
 * (issue 22). Its values must be exactly those of Medplum's evaluator, parameter by parameter and
 * component by component, on the Kansas examples, the validation corpus, the document bundles and
 * a Synthea-shaped record (Observations with components and values of each type, Claims, EOBs).
 */
const conformance = loadConformance();
const root = join(import.meta.dirname, '..', '..');

function resourcesIn(dir: string): Resource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      // A resource, or a corpus case holding one.
      const parsed = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { resourceType?: string; resource?: Resource };
      const resource = parsed.resourceType ? (parsed as Resource) : parsed.resource;
      if (!resource) return [];
      const entries = resource.resourceType === 'Bundle' ? ((resource as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) : [];
      return [resource, ...entries, ...((resource as { contained?: Resource[] }).contained ?? [])];
    });
}

const observationWithComponents: Resource = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  subject: { reference: 'Patient/p-1' },
  effectivePeriod: { start: '2024-01-01T09:00:00Z', end: '2024-01-01T09:05:00Z' },
  valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '12345' }] },
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 80, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    { code: { text: 'note' }, valueString: 'seated' },
  ],
};

const resources: Resource[] = [
  ...resourcesIn(join(root, 'bundles', 'examples', 'valid')),
  ...resourcesIn(join(root, 'bundles', 'documents')),
  ...resourcesIn(join(root, 'test', 'validation', 'corpus', 'valid')),
  ...syntheaShapedPatient(3, { patients: 4, longHistoryObservations: 16, observationsPerPatient: 16, encounterRecords: true }),
  observationWithComponents,
];

/** Values as compared: Medplum's TypedValue fields, in order. */
const plain = (values: TypedValue[]): unknown[] => values.map((v) => ({ type: v.type, value: v.value, path: (v as { path?: string }).path }));

describe('search parameter values evaluated with shared element lookups', () => {
  it('covers resources of many types', () => {
    expect(new Set(resources.map((r) => r.resourceType)).size).toBeGreaterThanOrEqual(12);
  });

  it.each(resources.map((r, i): [string, Resource] => [`${i} ${r.resourceType}`, r]))('%s: every parameter and component gives the values Medplum evaluates', (_name, resource) => {
    const typed = toTypedValue(resource);
    const variables = { '%resource': typed, '%rootResource': typed };
    const evaluation = new ParameterEvaluation();
    let compared = 0;
    for (const def of conformance.searchParameters.paramsOf(resource.resourceType).values()) {
      if (!def.expression) continue;
      let expected: TypedValue[];
      try {
        expected = evalFhirPathTyped(def.expression, [toTypedValue(resource)], variables);
      } catch {
        expected = [];
      }
      const actual = evaluation.evaluate(def.expression, [typed], variables);
      expect(plain(actual), `${resource.resourceType} ${def.code}`).toEqual(plain(expected));
      compared++;
      for (const value of actual) {
        for (const component of def.components) {
          if (!component.expression) continue;
          expect(plain(evaluation.evaluate(component.expression, [value])), `${def.code} ${component.definition}`).toEqual(plain(evalFhirPathTyped(component.expression, [value])));
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
  });
});
