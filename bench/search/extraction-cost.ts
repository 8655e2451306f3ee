/**
 * CPU per resource of search index extraction (issue 22), in-process, on the Synthea-style
 * records of the load benchmark's bundles (Observations, Encounters, Claims, EOBs, ...): every
 * search parameter's FHIRPath evaluated by Medplum's evaluator one parameter at a time (how
 * extraction evaluated before), the same with the element lookups shared
 * (src/search/parameter-evaluation.ts), and the whole extraction (`extractIndexRows`: values,
 * rows, composites). CPU time, not wall time: it moves less on a shared machine.
 *
 *   node bench/search/extraction-cost.ts [--observations 400] [--rounds 4]
 */
import os from 'node:os';
import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { extractIndexRows } from '../../src/search/extract.ts';
import { ParameterEvaluation } from '../../src/search/parameter-evaluation.ts';
import { option } from '../bench-database.ts';
import { syntheaShapedPatient } from './synthea-shaped.ts';

const observations = Number(option('--observations', '400'));
const rounds = Number(option('--rounds', '4'));
const { searchParameters } = loadConformance();
const resources = syntheaShapedPatient(1, { patients: 2, longHistoryObservations: observations, observationsPerPatient: observations, encounterRecords: true });

function medplumOneByOne(): void {
  for (const resource of resources) {
    const typed = toTypedValue(resource);
    const variables = { '%resource': typed, '%rootResource': typed };
    for (const def of searchParameters.paramsOf(resource.resourceType).values()) {
      if (!def.expression) continue;
      try {
        evalFhirPathTyped(def.expression, [typed], variables);
      } catch {
        // indexes nothing, as in extraction
      }
    }
  }
}

function sharedLookups(): void {
  for (const resource of resources) {
    const typed = toTypedValue(resource);
    const variables = { '%resource': typed, '%rootResource': typed };
    const evaluation = new ParameterEvaluation();
    for (const def of searchParameters.paramsOf(resource.resourceType).values()) {
      if (def.expression) evaluation.evaluate(def.expression, [typed], variables);
    }
  }
}

function wholeExtraction(): void {
  for (const resource of resources) extractIndexRows(searchParameters, resource);
}

/** µs of CPU per resource, the median of `rounds` after one warm-up. */
function cost(run: () => void): number {
  run();
  const each: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = process.cpuUsage();
    run();
    const used = process.cpuUsage(before);
    each.push((used.user + used.system) / resources.length);
  }
  return Math.round(each.sort((a, b) => a - b)[Math.floor(each.length / 2)] * 10) / 10;
}

console.log(`# index extraction, ${resources.length} resources, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`every parameter by Medplum's evaluator: ${cost(medplumOneByOne)} µs CPU per resource`);
console.log(`every parameter with shared element lookups: ${cost(sharedLookups)} µs CPU per resource`);
console.log(`whole extraction (extractIndexRows): ${cost(wholeExtraction)} µs CPU per resource`);
