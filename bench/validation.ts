/**
 * Validation throughput on one core (issue 5, "Performance"): target >= 1,000 KS PCSP CarePlan
 * validations per second. Compares kanplan's validator (parsed-profile cache + Kansas checks)
 * with @medplum/core's own `validateResource(r, { profile })`, which re-parses the profile on
 * every call (~3 ms per CarePlan, ../shared/measurements.md §1).
 *
 * Usage: npm run bench:validation   (node bench/validation.ts [--seconds N])
 * Prints a Markdown table; copy it into bench/RESULTS.md with the date, machine and load.
 */
import { readFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { CarePlan, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { loadConformance } from '../src/conformance/conformance.ts';
import { createResourceValidator, hasErrors } from '../src/validation/validator.ts';

const root = join(import.meta.dirname, '..');
const secondsIndex = process.argv.indexOf('--seconds');
const runSeconds = secondsIndex > 0 ? Number(process.argv[secondsIndex + 1]) : 1;
const RUNS = 5;

function example(name: string): CarePlan {
  return JSON.parse(readFileSync(join(root, 'bundles', 'examples', 'valid', `${name}.json`), 'utf8')) as CarePlan;
}

interface Row {
  readonly name: string;
  readonly bytes: number;
  readonly min: number;
  readonly median: number;
}

function measure(name: string, resource: Resource, fn: () => void): Row {
  const warmUntil = performance.now() + 1000;
  while (performance.now() < warmUntil) {
    fn();
  }
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    let n = 0;
    const start = performance.now();
    const end = start + runSeconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 20; i++) {
        fn();
      }
      n += 20;
    }
    rates.push(n / ((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { name, bytes: JSON.stringify(resource).length, min: rates[0], median: rates[Math.floor(rates.length / 2)] };
}

const conformance = loadConformance();
const validator = createResourceValidator(conformance);
const pcsp = example('ks-pcsp-careplan');
const pcspSimple: CarePlan = { ...pcsp, extension: pcsp.extension?.slice(0, 2) };
const basePlan: CarePlan = { ...pcspSimple, meta: undefined, category: pcsp.category?.slice(0, 1) };
for (const [label, r] of [['pcsp', pcsp], ['pcspSimple', pcspSimple], ['basePlan', basePlan]] as const) {
  const issues = validator.validate(r);
  if (issues.length > 0) {
    throw new Error(`bench input ${label} is not valid: ${JSON.stringify(issues)}`);
  }
}
const profile = conformance.kansas.structureDefinitions.find((sd) => sd.id === 'ks-pcsp-careplan') as StructureDefinition;

const rows: Row[] = [
  measure('KS PCSP CarePlan, with rights modification + distribution extensions (kanplan validator)', pcsp, () => validator.validate(pcsp)),
  measure('KS PCSP CarePlan, waiver + review-date extensions only (kanplan validator)', pcspSimple, () => validator.validate(pcspSimple)),
  measure('same CarePlan without profile: base R4 + Kansas binding/extension checks', basePlan, () => validator.validate(basePlan)),
  measure('@medplum/core validateResource(pcsp, { profile }) — no cache, for comparison', pcspSimple, () => {
    try {
      validateResource(pcspSimple, { profile });
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) throw err;
    }
  }),
];

if (hasErrors(validator.validate(pcsp))) {
  throw new Error('unexpected');
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`${RUNS} runs of ${runSeconds} s after 1 s warm-up, one thread\n`);
console.log('| workload | JSON bytes | min ops/s | median ops/s | median ms/op |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.bytes} | ${fmt(r.min)} | ${fmt(r.median)} | ${(1000 / r.median).toFixed(3)} |`);
}
