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

/** A successful read of one fictional person's record by one caller: an event that groups. */
function patientRead(n: number): StoredAuditEvent {
  return {
    ...event(1000 + n),
    id: `audit-log-read-${n}`,
    action: 'R',
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    agent: [{ requestor: true, who: { display: 'fictional reader' } }],
    entity: [{ what: { reference: 'Patient/audit-log-group-p1' }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' } }],
  } as StoredAuditEvent;
}

describe.each(testDatabases)("reads' AuditEvents on %s", (kind) => {
  let db: Database;
  let release: () => void = () => undefined;
  let repo: Repository;

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    const sql = new SqlRepository(db);
    // The first statement waits until the test lets it go: reads keep arriving while a flush writes.
    let held: Promise<void> | undefined = new Promise((resolve) => (release = resolve));
    repo = Object.assign(Object.create(sql) as SqlRepository, {
      writeNewVersions: async (resources: Parameters<Repository['writeNewVersions']>[0]) => {
        const wait = held;
        held = undefined;
        await wait;
        return sql.writeNewVersions(resources);
      },
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('arriving while a flush writes stay grouped: one event for the reads of one caller and person', async () => {
    const log = new AuditLog(repo, { flushMs: 1000, readGrouping: true, logger: pino({ level: 'silent' }) });
    // 50 failed reads are not grouped: the 50th starts a flush, whose statement is held.
    for (let n = 0; n < 50; n++) await log.record({ ...event(2000 + n), id: `audit-log-failed-${n}`, action: 'R', outcome: '4' } as StoredAuditEvent, false);
    for (let n = 0; n < 30; n++) await log.record(patientRead(n), false);
    release();
    // More reads while the held flush finishes and the database answers.
    for (let n = 30; n < 60; n++) {
      await log.record(patientRead(n), false);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await log.close();
    const grouped = await db.query<{ content: string }>("SELECT content FROM resource WHERE resource_type = 'AuditEvent' AND content LIKE '%audit-log-group-p1%'");
    expect(grouped).toHaveLength(1);
    // The person once, then one entity per read.
    expect((JSON.parse(grouped[0].content) as AuditEvent).entity).toHaveLength(61);
  });
});
