import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import type { VersionToWrite, WriteParticipant } from '../../src/store/write-participant.ts';
import { countingStatements } from '../search/db.ts';
import { openTestDatabase, testDatabases } from '../harness.ts';

/** A participant that logs every version it is shown into a table of its own. */
const versionLog: WriteParticipant = {
  name: 'version log',
  statementsFor(versions: readonly VersionToWrite[], bind) {
    return [
      `INSERT INTO version_log (resource_type, id, version_id, method)
       SELECT * FROM unnest(${bind(versions.map((v) => v.resourceType))}::text[], ${bind(versions.map((v) => v.id))}::text[],
                            ${bind(versions.map((v) => v.versionId))}::int[], ${bind(versions.map((v) => v.method))}::text[])`,
    ];
  },
};

describe.each(testDatabases)('a write participant on %s', (kind) => {
  let db: Database & { statements: number };
  let repo: SqlRepository;
  const logged = async (id: string): Promise<string[]> =>
    (await db.query<{ version_id: number; method: string }>('SELECT version_id, method FROM version_log WHERE id = $1 ORDER BY version_id', [id])).map(
      (row) => `${row.version_id} ${row.method}`,
    );

  beforeAll(async () => {
    db = countingStatements(await openTestDatabase(kind));
    await db.exec('CREATE TABLE version_log (resource_type text, id text, version_id int, method text)');
    repo = new SqlRepository(db, { participants: [versionLog] });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('adds its rows in the statement of a create that is alone: still one statement', async () => {
    const before = db.statements;
    const created = await repo.create({ resourceType: 'Patient', gender: 'female' } as Patient);
    expect(db.statements - before).toBe(1);
    expect(await logged(created.id as string)).toEqual(['1 POST']);
  });

  it('sees every version a transaction writes, deletes included', async () => {
    const created = await repo.create({ resourceType: 'Patient' } as Patient, 'participant-p1');
    await repo.update({ ...(created as Patient & { id: string }), gender: 'other' });
    await repo.delete('Patient', 'participant-p1');
    expect(await logged('participant-p1')).toEqual(['1 POST', '2 PUT', '3 DELETE']);
  });

  it('rolls back with the transaction that wrote the versions', async () => {
    await expect(
      repo.transaction(async (tx) => {
        await tx.create({ resourceType: 'Patient' } as Patient, 'participant-rolled-back');
        await tx.readCurrent('Patient', 'participant-rolled-back'); // sends the queued write
        throw new Error('abandoned');
      }),
    ).rejects.toThrow('abandoned');
    expect(await logged('participant-rolled-back')).toEqual([]);
    expect(await repo.readCurrent('Patient', 'participant-rolled-back')).toBeUndefined();
  });
});
