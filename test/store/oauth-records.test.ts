import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../../src/store/database.ts';
import {
  claimOAuthRecordOnce,
  consumeOAuthRecord,
  deleteExpiredOAuthRecords,
  destroyOAuthRecordsOfGrant,
  findOAuthRecord,
  findOAuthRecordByUid,
  upsertOAuthRecord,
} from '../../src/store/oauth-records.ts';
import { openTestDatabase, testDatabases } from '../harness.ts';

describe.each(testDatabases)('OAuth records in the store (%s)', (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('a record is found by id and uid until it expires; expired ones are never returned and are cleaned up', async () => {
    await upsertOAuthRecord(db, 'Session', 's-live', { payload: { uid: 'u-1', accountId: 'a' }, uid: 'u-1', expiresAt: new Date(Date.now() + 60_000) });
    await upsertOAuthRecord(db, 'Session', 's-old', { payload: { uid: 'u-2' }, uid: 'u-2', expiresAt: new Date(Date.now() - 1_000) });
    expect(await findOAuthRecord(db, 'Session', 's-live')).toEqual({ uid: 'u-1', accountId: 'a' });
    expect(await findOAuthRecordByUid(db, 'Session', 'u-1')).toEqual({ uid: 'u-1', accountId: 'a' });
    expect(await findOAuthRecord(db, 'Session', 's-old')).toBeUndefined();
    expect(await findOAuthRecordByUid(db, 'Session', 'u-2')).toBeUndefined();
    expect(await deleteExpiredOAuthRecords(db)).toBeGreaterThanOrEqual(1);
    expect((await db.query("SELECT 1 FROM oauth_record WHERE id = 's-old'")).length).toBe(0);
  });

  test('an upsert replaces the payload; records of one kind do not answer for another', async () => {
    await upsertOAuthRecord(db, 'Grant', 'g-1', { payload: { n: 1 } });
    await upsertOAuthRecord(db, 'Grant', 'g-1', { payload: { n: 2 } });
    expect(await findOAuthRecord(db, 'Grant', 'g-1')).toEqual({ n: 2 });
    expect(await findOAuthRecord(db, 'Session', 'g-1')).toBeUndefined();
  });

  test('consuming succeeds once; destroying a grant removes every record of it', async () => {
    await upsertOAuthRecord(db, 'AuthorizationCode', 'c-1', { payload: { grantId: 'g-9' }, grantId: 'g-9', expiresAt: new Date(Date.now() + 60_000) });
    await upsertOAuthRecord(db, 'RefreshToken', 'r-1', { payload: { grantId: 'g-9' }, grantId: 'g-9', expiresAt: new Date(Date.now() + 60_000) });
    const attempts = await Promise.all([consumeOAuthRecord(db, 'AuthorizationCode', 'c-1'), consumeOAuthRecord(db, 'AuthorizationCode', 'c-1')]);
    expect(attempts.sort()).toEqual([false, true]);
    expect((await findOAuthRecord(db, 'AuthorizationCode', 'c-1'))?.consumed).toEqual(expect.any(Number));
    await destroyOAuthRecordsOfGrant(db, 'g-9');
    expect(await findOAuthRecord(db, 'RefreshToken', 'r-1')).toBeUndefined();
  });

  test('a jti is claimed once while its record lives, and again after it expired', async () => {
    const soon = new Date(Date.now() + 60_000);
    const claims = await Promise.all([claimOAuthRecordOnce(db, 'ClientAssertionJti', 'c j1', soon), claimOAuthRecordOnce(db, 'ClientAssertionJti', 'c j1', soon)]);
    expect(claims.sort()).toEqual([false, true]);
    await claimOAuthRecordOnce(db, 'ClientAssertionJti', 'c j2', new Date(Date.now() - 1_000));
    expect(await claimOAuthRecordOnce(db, 'ClientAssertionJti', 'c j2', soon)).toBe(true);
  });
});
