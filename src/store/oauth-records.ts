import type { SqlExecutor } from './database.ts';

/**
 * The authorization server's records (oidc-provider's adapter models: Session, Interaction,
 * Grant, AuthorizationCode, RefreshToken, ReplayDetection …) in table `oauth_record`. A record
 * past its expiry is never returned; `deleteExpiredOAuthRecords` removes them.
 */
export interface OAuthRecord {
  readonly payload: Record<string, unknown>;
  readonly grantId?: string;
  readonly uid?: string;
  readonly userCode?: string;
  /** Absolute expiry; undefined: kept until destroyed. */
  readonly expiresAt?: Date;
}

const LIVE = '(expires_at IS NULL OR expires_at > now())';

export async function upsertOAuthRecord(sql: SqlExecutor, kind: string, id: string, record: OAuthRecord): Promise<void> {
  await sql.query(
    `INSERT INTO oauth_record (kind, id, payload, grant_id, uid, user_code, expires_at)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
     ON CONFLICT (kind, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
       uid = EXCLUDED.uid, user_code = EXCLUDED.user_code, expires_at = EXCLUDED.expires_at`,
    [kind, id, JSON.stringify(record.payload), record.grantId ?? null, record.uid ?? null, record.userCode ?? null, record.expiresAt ?? null],
  );
}

type PayloadRow = { payload: Record<string, unknown> | string };

function payloadOf(rows: PayloadRow[]): Record<string, unknown> | undefined {
  const payload = rows[0]?.payload;
  return typeof payload === 'string' ? (JSON.parse(payload) as Record<string, unknown>) : payload;
}

export async function findOAuthRecord(sql: SqlExecutor, kind: string, id: string): Promise<Record<string, unknown> | undefined> {
  return payloadOf(await sql.query<PayloadRow>(`SELECT payload FROM oauth_record WHERE kind = $1 AND id = $2 AND ${LIVE}`, [kind, id]));
}

/** The ids of a kind's unexpired records (e.g. revoked access tokens, which live at most an hour). */
export async function liveOAuthRecordIds(sql: SqlExecutor, kind: string): Promise<string[]> {
  const rows = await sql.query<{ id: string }>(`SELECT id FROM oauth_record WHERE kind = $1 AND ${LIVE}`, [kind]);
  return rows.map((row) => row.id);
}

export async function findOAuthRecordByUid(sql: SqlExecutor, kind: string, uid: string): Promise<Record<string, unknown> | undefined> {
  return payloadOf(await sql.query<PayloadRow>(`SELECT payload FROM oauth_record WHERE kind = $1 AND uid = $2 AND ${LIVE} LIMIT 1`, [kind, uid]));
}

export async function findOAuthRecordByUserCode(sql: SqlExecutor, kind: string, userCode: string): Promise<Record<string, unknown> | undefined> {
  return payloadOf(await sql.query<PayloadRow>(`SELECT payload FROM oauth_record WHERE kind = $1 AND user_code = $2 AND ${LIVE} LIMIT 1`, [kind, userCode]));
}

/**
 * Marks a record used (authorization codes are single-use: RFC 6749 §4.1.2), atomically: false
 * when it was used already — by a concurrent request, possibly in another server process — or is
 * gone.
 */
export async function consumeOAuthRecord(sql: SqlExecutor, kind: string, id: string): Promise<boolean> {
  const rows = await sql.query(
    `UPDATE oauth_record SET payload = jsonb_set(payload, '{consumed}', to_jsonb(extract(epoch FROM now())::bigint))
     WHERE kind = $1 AND id = $2 AND NOT (payload ? 'consumed') RETURNING 1`,
    [kind, id],
  );
  return rows.length === 1;
}

/** The grant a record belongs to, expired or not. */
export async function grantIdOfOAuthRecord(sql: SqlExecutor, kind: string, id: string): Promise<string | undefined> {
  const rows = await sql.query<{ grant_id: string | null }>('SELECT grant_id FROM oauth_record WHERE kind = $1 AND id = $2', [kind, id]);
  return rows[0]?.grant_id ?? undefined;
}

export async function destroyOAuthRecord(sql: SqlExecutor, kind: string, id: string): Promise<void> {
  await sql.query('DELETE FROM oauth_record WHERE kind = $1 AND id = $2', [kind, id]);
}

/** Every record of a grant, of any kind: revoking a grant ends its codes and tokens. */
export async function destroyOAuthRecordsOfGrant(sql: SqlExecutor, grantId: string): Promise<void> {
  await sql.query('DELETE FROM oauth_record WHERE grant_id = $1', [grantId]);
}

/**
 * Records `id` once, atomically across server processes: true the first time, false while an
 * earlier, unexpired record of the same kind and id exists (replay detection of `jti` values).
 */
export async function claimOAuthRecordOnce(sql: SqlExecutor, kind: string, id: string, expiresAt: Date): Promise<boolean> {
  const rows = await sql.query(
    `INSERT INTO oauth_record (kind, id, payload, expires_at) VALUES ($1, $2, '{}'::jsonb, $3)
     ON CONFLICT (kind, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE oauth_record.expires_at IS NOT NULL AND oauth_record.expires_at <= now()
     RETURNING id`,
    [kind, id, expiresAt],
  );
  return rows.length === 1;
}

export async function deleteExpiredOAuthRecords(sql: SqlExecutor): Promise<number> {
  const rows = await sql.query('DELETE FROM oauth_record WHERE expires_at <= now() RETURNING 1');
  return rows.length;
}
