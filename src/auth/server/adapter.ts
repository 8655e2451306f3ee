import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { SqlExecutor } from '../../store/database.ts';
import {
  consumeOAuthRecord,
  deleteExpiredOAuthRecords,
  destroyOAuthRecord,
  destroyOAuthRecordsOfGrant,
  findOAuthRecord,
  findOAuthRecordByUid,
  findOAuthRecordByUserCode,
  grantIdOfOAuthRecord,
  upsertOAuthRecord,
} from '../../store/oauth-records.ts';
import { clientMetadata } from './clients.ts';

/** Expired records are deleted after this many writes (in whichever process makes them). */
const WRITES_PER_CLEANUP = 200;

/**
 * oidc-provider's storage adapter (https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#adapter)
 * over the store: one adapter per model kind, every record in the database so that server
 * processes sharing one PostgreSQL see the same sessions, codes and tokens. Clients come from
 * the client registry (`kanplan client add`).
 */
export function createAdapterFactory(sql: SqlExecutor): (kind: string) => Adapter {
  let writes = 0;
  return (kind: string): Adapter => {
    if (kind === 'Client') {
      return {
        find: async (id) => (await clientMetadata(sql, id)) as AdapterPayload | undefined,
        upsert: async () => undefined,
        findByUid: async () => undefined,
        findByUserCode: async () => undefined,
        consume: async () => undefined,
        destroy: async () => undefined,
        revokeByGrantId: async () => undefined,
      };
    }
    return {
      async upsert(id, payload, expiresIn) {
        await upsertOAuthRecord(sql, kind, id, {
          payload: payload as Record<string, unknown>,
          grantId: payload.grantId,
          uid: payload.uid,
          userCode: payload.userCode,
          expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : undefined,
        });
        if (++writes % WRITES_PER_CLEANUP === 0) await deleteExpiredOAuthRecords(sql);
      },
      find: async (id) => (await findOAuthRecord(sql, kind, id)) as AdapterPayload | undefined,
      findByUid: async (uid) => (await findOAuthRecordByUid(sql, kind, uid)) as AdapterPayload | undefined,
      findByUserCode: async (userCode) => (await findOAuthRecordByUserCode(sql, kind, userCode)) as AdapterPayload | undefined,
      // oidc-provider checks `consumed` when it reads the code and consumes it later; two requests
      // with the same code (in one process or two) could both pass the check. The conditional
      // UPDATE lets exactly one through; the other is refused and, as for any reuse, the grant is
      // revoked (RFC 6749 §4.1.2).
      async consume(id) {
        if (await consumeOAuthRecord(sql, kind, id)) return;
        const grantId = await grantIdOfOAuthRecord(sql, kind, id);
        if (grantId) await destroyOAuthRecordsOfGrant(sql, grantId);
        throw new errors.InvalidGrant(`${kind === 'AuthorizationCode' ? 'authorization code' : 'token'} already used`);
      },
      destroy: (id) => destroyOAuthRecord(sql, kind, id),
      revokeByGrantId: (grantId) => destroyOAuthRecordsOfGrant(sql, grantId),
    };
  };
}
