/**
 * What the Observation combination indexes (patient-category-date, patient-category-status,
 * patient-code; issue 23) cost a
 * write: the same Synthea-shaped patients (synthea-shaped.ts) are written through the Repository,
 * one transaction per patient, into a new in-memory PGlite, once with the search parameters as
 * shipped and once without the two combinations, runs alternating. PGlite runs in this process,
 * so the process CPU time is the whole cost of a write (FHIRPath extraction, SQL, index
 * maintenance); it is less disturbed by other processes than wall time. Also counted: index
 * statements per transaction and sp_composite rows.
 *
 *   node bench/search/combination-write-cost.ts [patients=5] [runs=3]
 */
import { loadConformance } from '../../src/conformance/conformance.ts';
import { SearchParameterRegistry } from '../../src/conformance/search-parameters.ts';
import { baseSearchParameters, basePatientCompartment, listResourceTypes } from '../../src/conformance/base-definitions.ts';
import { createSearchIndexParticipant } from '../../src/search/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import type { WriteParticipant } from '../../src/store/write-participant.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { syntheaShapedPatient, type SyntheaShapedOptions } from './synthea-shaped.ts';

const COMBINATIONS = new Set(['patient-category-date', 'patient-category-status', 'patient-code']);
const patients = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 3);
const options: SyntheaShapedOptions = { patients, longHistoryObservations: 800, observationsPerPatient: 200 };
const data = Array.from({ length: patients }, (_, p) => syntheaShapedPatient(p, options));
const resources = data.reduce((n, p) => n + p.length, 0);

const conformance = loadConformance();
const withCombinations = conformance.searchParameters;
const withoutCombinations = new SearchParameterRegistry({
  searchParameters: [...baseSearchParameters(), ...conformance.kansas.searchParameters.filter((sp) => !COMBINATIONS.has(sp.code as string))],
  resourceTypes: listResourceTypes(),
  compartments: [basePatientCompartment()],
});

async function load(parameters: SearchParameterRegistry): Promise<{ cpuMs: number; wallMs: number; statements: number; compositeRows: number }> {
  const db = await openDatabase({});
  await migrate(db);
  const index = createSearchIndexParticipant(parameters, { baseUrl: 'http://localhost:8080/fhir' });
  let statements = 0;
  const counted: WriteParticipant = { ...index, statementsFor: (versions, bind) => { const s = index.statementsFor(versions, bind); statements += s.length; return s; } };
  const repo = new SqlRepository(db, { participants: [counted] });
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (const patient of data) {
    await repo.transaction(async (tx) => {
      for (const resource of patient) await tx.update(resource);
    });
  }
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM sp_composite');
  await db.close();
  return { cpuMs: (used.user + used.system) / 1000, wallMs, statements, compositeRows: Number(n) };
}

const results: Record<'with' | 'without', Awaited<ReturnType<typeof load>>[]> = { with: [], without: [] };
await load(withCombinations); // warm-up (JIT, WebAssembly compilation), not counted
for (let run = 0; run < runs; run++) {
  for (const variant of run % 2 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
    results[variant].push(await load(variant === 'with' ? withCombinations : withoutCombinations));
    process.stderr.write(`run ${run + 1} ${variant}: ${JSON.stringify(results[variant].at(-1))}\n`);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [load1] = (await import('node:os')).loadavg();
for (const variant of ['without', 'with'] as const) {
  const r = results[variant];
  process.stdout.write(
    `${variant} combinations: ${resources} resources, CPU ${median(r.map((x) => x.cpuMs)).toFixed(0)} ms (median of ${runs}; ${r.map((x) => x.cpuMs.toFixed(0)).join(', ')}), ` +
      `${(median(r.map((x) => x.cpuMs)) / resources).toFixed(3)} ms CPU per resource, wall ${median(r.map((x) => x.wallMs)).toFixed(0)} ms, ` +
      `${r[0].statements} index statements, ${r[0].compositeRows} sp_composite rows; load average ${load1.toFixed(1)}\n`,
  );
}
