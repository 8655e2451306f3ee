import { describe, expect, test } from 'vitest';
import { runBenchmark } from '../../bench/load/run.ts';
import { BUNDLE_IMPORT_SCENARIO } from '../../bench/load/bundle-import.ts';
import { IMPORT, MIXED, READ_AND_SEARCH, WRITES } from '../../bench/load/scenarios.ts';

// `npm run bench -- --smoke` in the test suite, so the harness never rots. It asserts that every
// scenario ran and answered without errors; speed is not asserted (it is measured in bench/).
describe('load benchmark smoke run', () => {
  test('every scenario, the Synthea-style bundle import included, runs against kanplan, the baselines and the peer without errors', async () => {
    const { rows, notes, profile } = await runBenchmark({ size: 2, db: 'pglite', durationSeconds: 1, smoke: true });
    const expected = [
      'baseline express',
      'baseline node-http',
      ...[...READ_AND_SEARCH, ...WRITES, IMPORT, MIXED].map((s) => `kanplan ${s.name}`),
      `kanplan ${BUNDLE_IMPORT_SCENARIO}`,
      ...READ_AND_SEARCH.filter((s) => s.peer).map((s) => `peer ${s.name}`),
      ...WRITES.map((s) => `peer ${s.name}`),
      `peer ${BUNDLE_IMPORT_SCENARIO}`,
    ];
    const seen = rows.map((row) => (row.target.startsWith('baseline') ? row.target : `${row.target} ${row.scenario}`));
    expect(seen).toEqual(expected);
    for (const row of rows) {
      expect(row.requests, `${row.target} ${row.scenario}`).toBeGreaterThan(0);
      expect(row.errors, `${row.target} ${row.scenario}`).toBe(0);
    }
    expect(notes.some((note) => /^dataset: \d+ resources/.test(note))).toBe(true);
    // Both imported every entry of the same bundles.
    const imports = rows.filter((row) => row.scenario === BUNDLE_IMPORT_SCENARIO);
    expect(imports.map((row) => row.resourcesPerSec ?? 0).every((rate) => rate > 0)).toBe(true);
    // The slowest kanplan scenario is profiled; its top five costs are named with their share.
    // Of the autocannon scenarios: a bundle import's req/s counts bundles.
    const slowest = rows.filter((row) => row.target === 'kanplan' && row.resourcesPerSec === undefined).reduce((a, b) => (b.reqPerSec < a.reqPerSec ? b : a));
    expect(profile.scenario).toBe(slowest.scenario);
    expect(profile.costs).toHaveLength(5);
    expect(profile.costs.every((cost) => cost.frame.length > 0 && cost.share > 0 && cost.share <= 1)).toBe(true);
  }, 600_000); // two peer starts and two bundle imports since issue 22; a PGlite first start alone took 2–4 min at load 45
});
