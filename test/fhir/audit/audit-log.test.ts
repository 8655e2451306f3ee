import type { AuditEvent } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type StoredAuditEvent } from '../../../src/fhir/audit/audit-log.ts';
import type { Repository } from '../../../src/store/repository.ts';
import { SqlRepository } from '../../../src/store/sql-repository.ts';
import type { Database } from '../../../src/store/database.ts';
import { openTestDatabase, testDatabases } from '../../harness.ts';

function event(n: number): StoredAuditEvent {
  return {
    resourceType: 'AuditEvent',
    id: `audit-log-test-${n}`,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    action: 'C',
    recorded: new Date().toISOString(),
    outcome: '0',
    agent: [{ requestor: true, who: { display: `fictional writer ${n}` } }],
    source: { observer: { display: 'kanplan' } },
  } as AuditEvent & { id: string };
}

describe.each(testDatabases)("writes' AuditEvents on %s", (kind) => {
  let db: Database;
  let statements: number[];
  let repo: Repository;

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    statements = [];
    const sql = new SqlRepository(db);
    // The number of events each statement stores.
    repo = Object.assign(Object.create(sql) as SqlRepository, {
      writeNewVersions: (resources: Parameters<Repository['writeNewVersions']>[0]) => {
        statements.push(resources.length);
        return sql.writeNewVersions(resources);
      },
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('are stored before each write answers, those of concurrent writes together in fewer statements', async () => {
    const log = new AuditLog(repo, { flushMs: 1000, readGrouping: true, logger: pino({ level: 'silent' }) });
    const stored = await Promise.all(
      Array.from({ length: 12 }, async (_, n) => {
        await log.record(event(n), true);
        // Once its record() resolved, the write's event is in the database.
        return (await db.query<{ id: string }>('SELECT id FROM resource WHERE resource_type = $1 AND id = $2', ['AuditEvent', `audit-log-test-${n}`])).length;
      }),
    );
    expect(stored).toEqual(Array(12).fill(1));
    expect(statements.reduce((a, b) => a + b, 0)).toBe(12);
    expect(statements.length).toBeLessThan(12);
    await log.close();
  });

  it('fail the recording of each write whose statement failed, and the next ones are stored', async () => {
    const log = new AuditLog(repo, { flushMs: 1000, readGrouping: true, logger: pino({ level: 'silent' }) });
    // An id taken by the test before: the statement's primary key refuses it.
    const results = await Promise.allSettled([log.record(event(0), true), log.record(event(100), true)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await log.record(event(101), true);
    const rows = await db.query<{ id: string }>('SELECT id FROM resource WHERE id = ANY($1::text[]) ORDER BY id', [['audit-log-test-100', 'audit-log-test-101']]);
    expect(rows.map((r) => r.id)).toEqual(['audit-log-test-101']);
    await log.close();
  });
});
