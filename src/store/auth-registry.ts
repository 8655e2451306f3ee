import type { SqlExecutor } from './database.ts';

/** Registered OAuth clients (table `oauth_client`): client_id and its metadata as stored. */
export interface StoredClient {
  readonly clientId: string;
  readonly metadata: Record<string, unknown>;
  readonly createdAt: Date;
}

type ClientRow = { client_id: string; metadata: Record<string, unknown> | string; created_at: Date | string };

const clientOf = (row: ClientRow): StoredClient => ({
  clientId: row.client_id,
  metadata: typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as Record<string, unknown>) : row.metadata,
  createdAt: new Date(row.created_at),
});

/** Adds a client; false when the client_id is taken. */
export async function insertClient(sql: SqlExecutor, clientId: string, metadata: Record<string, unknown>): Promise<boolean> {
  const rows = await sql.query('INSERT INTO oauth_client (client_id, metadata) VALUES ($1, $2::jsonb) ON CONFLICT DO NOTHING RETURNING 1', [clientId, JSON.stringify(metadata)]);
  return rows.length === 1;
}

export async function findClient(sql: SqlExecutor, clientId: string): Promise<StoredClient | undefined> {
  const rows = await sql.query<ClientRow>('SELECT client_id, metadata, created_at FROM oauth_client WHERE client_id = $1', [clientId]);
  return rows[0] && clientOf(rows[0]);
}

export async function listClients(sql: SqlExecutor): Promise<StoredClient[]> {
  return (await sql.query<ClientRow>('SELECT client_id, metadata, created_at FROM oauth_client ORDER BY client_id')).map(clientOf);
}

/** Whether a registered redirect URI is at `origin` (scheme://host[:port]). */
export async function hasRedirectUriAtOrigin(sql: SqlExecutor, origin: string): Promise<boolean> {
  const rows = await sql.query(
    `SELECT 1 FROM oauth_client, jsonb_array_elements_text(coalesce(metadata->'redirect_uris', '[]'::jsonb)) AS uri
     WHERE uri = $1 OR left(uri, length($1) + 1) = $1 || '/' LIMIT 1`,
    [origin],
  );
  return rows.length > 0;
}

export async function deleteClient(sql: SqlExecutor, clientId: string): Promise<boolean> {
  return (await sql.query('DELETE FROM oauth_client WHERE client_id = $1 RETURNING 1', [clientId])).length === 1;
}

/** People who sign in (table `auth_user`); the password only as its hash. */
export interface StoredUser {
  readonly login: string;
  readonly fhirUser: string;
  readonly passwordHash: string;
  readonly createdAt: Date;
}

type UserRow = { login: string; fhir_user: string; password_hash: string; created_at: Date | string };

const userOf = (row: UserRow): StoredUser => ({ login: row.login, fhirUser: row.fhir_user, passwordHash: row.password_hash, createdAt: new Date(row.created_at) });

export async function insertUser(sql: SqlExecutor, login: string, fhirUser: string, passwordHash: string): Promise<boolean> {
  const rows = await sql.query('INSERT INTO auth_user (login, fhir_user, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1', [login, fhirUser, passwordHash]);
  return rows.length === 1;
}

export async function findUser(sql: SqlExecutor, login: string): Promise<StoredUser | undefined> {
  const rows = await sql.query<UserRow>('SELECT login, fhir_user, password_hash, created_at FROM auth_user WHERE login = $1', [login]);
  return rows[0] && userOf(rows[0]);
}

export async function listUsers(sql: SqlExecutor): Promise<StoredUser[]> {
  return (await sql.query<UserRow>('SELECT login, fhir_user, password_hash, created_at FROM auth_user ORDER BY login')).map(userOf);
}

export async function countUsers(sql: SqlExecutor): Promise<number> {
  const rows = await sql.query<{ n: number | string }>('SELECT count(*) AS n FROM auth_user');
  return Number(rows[0]?.n ?? 0);
}

export async function deleteUser(sql: SqlExecutor, login: string): Promise<boolean> {
  return (await sql.query('DELETE FROM auth_user WHERE login = $1 RETURNING 1', [login])).length === 1;
}

/** EHR launch contexts (table `smart_launch`). */
export interface StoredLaunch {
  readonly id: string;
  readonly patient: string;
  readonly encounter?: string;
  readonly login?: string;
  readonly clientId?: string;
  readonly expiresAt: Date;
}

type LaunchRow = { id: string; patient: string; encounter: string | null; login: string | null; client_id: string | null; expires_at: Date | string };

export async function insertLaunch(sql: SqlExecutor, launch: StoredLaunch): Promise<void> {
  await sql.query('INSERT INTO smart_launch (id, patient, encounter, login, client_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
    launch.id,
    launch.patient,
    launch.encounter ?? null,
    launch.login ?? null,
    launch.clientId ?? null,
    launch.expiresAt,
  ]);
  // Launches are short-lived; old ones go as new ones arrive.
  await sql.query('DELETE FROM smart_launch WHERE expires_at <= now()');
}

/** An unexpired launch. */
export async function findLaunch(sql: SqlExecutor, id: string): Promise<StoredLaunch | undefined> {
  const rows = await sql.query<LaunchRow>('SELECT id, patient, encounter, login, client_id, expires_at FROM smart_launch WHERE id = $1 AND expires_at > now()', [id]);
  const row = rows[0];
  return row && { id: row.id, patient: row.patient, encounter: row.encounter ?? undefined, login: row.login ?? undefined, clientId: row.client_id ?? undefined, expiresAt: new Date(row.expires_at) };
}
