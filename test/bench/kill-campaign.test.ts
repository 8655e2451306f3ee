import { describe, expect, test } from 'vitest';
import { runKillCampaign } from '../../bench/crash/campaign.ts';
import { testDatabases } from '../harness.ts';

// `npm run bench:kill` in short: three kills of a real `kanplan serve` process while documents
// are imported, transactions update a pair of Patients and updates run (bench/crash/). The long
// run (20 kills and more) and its figures are in bench/RESULTS-reliability.md.
describe.each(testDatabases)('kill -9 during imports, transactions and updates (%s)', (kind) => {
  test('after each kill and restart: kanplan check passes, every acknowledged write is there, every document is whole or absent, no transaction is torn, no 5xx', async () => {
    const result = await runKillCampaign({
      kind,
      kills: 3,
      seed: 20,
      adminUrl: process.env.TEST_DATABASE_URL,
      pgliteDump: process.env.KANPLAN_TEST_PGLITE_DUMP,
      log: process.env.LOG_LEVEL && process.env.LOG_LEVEL !== 'silent' ? (line) => console.log(line) : undefined,
    });
    expect(result.kills).toHaveLength(3);
    for (const kill of result.kills) {
      expect(kill.findings.lost, `kill ${kill.kill}`).toEqual([]);
      expect(kill.findings.partial, `kill ${kill.kill}`).toEqual([]);
      expect(kill.findings.torn, `kill ${kill.kill}`).toEqual([]);
      if (kill.check) expect(kill.check.exit, kill.check.output).toBe(0);
    }
    // The embedded database: kill 2 was recovered by the server itself, 1 and 3 by kanplan check.
    expect(result.kills.filter((kill) => kill.check).length).toBe(kind === 'postgres' ? 3 : 2);
    expect(result.final.lost).toEqual([]);
    expect(result.final.torn).toEqual([]);
    expect(result.finalCheck.exit, result.finalCheck.output).toBe(0);
    expect(result.finalCheck.output).toMatch(/0 broken version chains, 0 index drifts/);
    expect(result.ledger.serverErrors).toEqual([]);
    expect(result.ledger.driverErrors).toEqual([]);
    // Something was acknowledged and then verified, beyond the document imported before the kills.
    expect(result.final.acknowledged).toBeGreaterThan(1);
  }, 900_000);
});
