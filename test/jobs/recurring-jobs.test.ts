import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobRunner, type JobHandler } from '../../src/jobs/job-runner.ts';
import type { Database } from '../../src/store/database.ts';
import { openTestDatabase, testDatabases } from '../harness.ts';

const HOUR = 3_600_000;
const idle: JobHandler = { kind: 'test-reminders', run: async () => '{}' };

describe.each(testDatabases)('recurring jobs on %s', (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.close();
  });

  const runner = () => new JobRunner(db, [idle], { pollMs: 1000, leaseMs: 30_000, retentionMs: HOUR, logger: pino({ level: 'silent' }), recurring: [{ kind: 'test-reminders', everyMs: HOUR }] });
  const queued = async () => (await db.query<{ id: string; input: string }>("SELECT id, input FROM job WHERE kind = 'test-reminders' ORDER BY id")).map((r) => ({ ...r }));

  it('is queued once per period however many processes offer it, with the period start as input', async () => {
    const at = Date.parse('2027-08-15T06:30:00Z');
    // Several server processes (runners) offering the same period at once.
    await Promise.all([runner().offerRecurring(at), runner().offerRecurring(at + 60_000), runner().offerRecurring(at + 120_000)]);
    expect(await queued()).toEqual([{ id: 'test-reminders@2027-08-15T06:00:00.000Z', input: JSON.stringify({ at: '2027-08-15T06:00:00.000Z' }) }]);
    // The next period gets its own job; offering the same period again adds nothing.
    const one = runner();
    await one.offerRecurring(at + HOUR);
    await one.offerRecurring(at + HOUR + 60_000);
    expect((await queued()).map((j) => j.id)).toEqual(['test-reminders@2027-08-15T06:00:00.000Z', 'test-reminders@2027-08-15T07:00:00.000Z']);
  });
});
