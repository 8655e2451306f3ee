import { describe, expect, test } from 'vitest';
import { formatExportTable, runExportBenchmark } from '../../bench/export-bench.ts';

// `npm run bench:export -- --smoke` in the test suite, so the export benchmark never rots. It
// asserts that the export ran end to end (every file downloaded, its lines matching the manifest's
// count, which the benchmark itself checks) and that $everything answered; speed and memory are
// measured in bench/, not asserted.
describe('export benchmark smoke run', () => {
  test('an export of a few members is kicked off, polled and downloaded, and $everything answers', async () => {
    const result = await runExportBenchmark({ db: 'pglite', size: 2, rounds: 1, everythingRequests: 5, smoke: true, replicate: 1 });
    expect(result.rounds).toHaveLength(1);
    const [round] = result.rounds;
    expect(round.resources).toBeGreaterThan(0);
    expect(round.files).toBeGreaterThan(0);
    expect(round.rssStartMiB).toBeGreaterThan(0);
    expect(round.rssPeakMiB).toBeGreaterThanOrEqual(round.rssStartMiB);
    expect(result.everything.entries).toBeGreaterThan(1);
    expect(result.everything.p50).toBeLessThanOrEqual(result.everything.p99);
    const table = formatExportTable('pglite', 2, result);
    expect(table).toContain('$export round 1');
    expect(table).toContain('Patient/{id}/$everything');
  }, 300_000);

  test('--replicate copies every loaded row, and the export holds the originals and the copies', async () => {
    const result = await runExportBenchmark({ db: 'pglite', size: 1, rounds: 1, everythingRequests: 1, smoke: true, replicate: 2 });
    const copied = Number(/\((\d+) rows/.exec(result.notes.find((n) => n.startsWith('replicated')) ?? '')?.[1]);
    expect(copied).toBeGreaterThan(10);
    expect(result.rounds[0].resources).toBeGreaterThanOrEqual(2 * copied);
  }, 300_000);
});
