import { describe, expect, test } from 'vitest';
import { runImportUnderKills } from '../../bench/crash/import-under-kills.ts';
import { testDatabases } from '../harness.ts';

// `npm run bench:kill -- import` in short: one `kanplan import` of 20 documents, the server killed
// twice while it runs, the import run again after each restart. The long run (1,000 documents)
// and its figures are in bench/RESULTS-reliability.md.
describe.each(testDatabases)('kill -9 during one kanplan import of many documents (%s)', (kind) => {
  test('after each kill and restart: every document reported imported is whole, the others whole or absent, CarePlans counted exactly, kanplan check passes; at the end all are whole', async () => {
    const documents = 20;
    const result = await runImportUnderKills({
      kind,
      documents,
      kills: 2,
      seed: 20,
      killAfterMs: [2000, 6000],
      adminUrl: process.env.TEST_DATABASE_URL,
      pgliteDump: process.env.KANPLAN_TEST_PGLITE_DUMP,
      log: process.env.LOG_LEVEL && process.env.LOG_LEVEL !== 'silent' ? (line) => console.log(line) : undefined,
    });
    for (const kill of result.kills) {
      expect(kill.lost, `kill ${kill.kill}`).toEqual([]);
      expect(kill.partial, `kill ${kill.kill}`).toEqual([]);
      expect(kill.carePlans.found, `kill ${kill.kill}`).toBe(kill.carePlans.expected);
      if (kill.check) expect(kill.check.exit, kill.check.output).toBe(0);
    }
    expect(result.finalLost).toEqual([]);
    expect(result.finalWhole).toBe(documents);
    expect(result.finalCheck.exit, result.finalCheck.output).toBe(0);
    expect(result.finalCheck.output).toMatch(/0 broken version chains, 0 index drifts/);
  }, 900_000);
});
