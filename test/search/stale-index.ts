import type { Database } from '../../src/store/database.ts';
import { conformance } from './db.ts';

/** Rows indexed by an "older parameter set": another fingerprint, and their token rows lost. */
export async function makeStale(db: Database, resourceType: string): Promise<number> {
  await db.query('UPDATE resource SET index_hash = $1 WHERE resource_type = $2', ['old-parameters', resourceType]);
  await db.query('DELETE FROM sp_token WHERE resource_type = $1', [resourceType]);
  const [{ n }] = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM resource WHERE resource_type = $1 AND NOT deleted', [resourceType]);
  return Number(n);
}

export async function staleCount(db: Database): Promise<number> {
  const [{ n }] = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM resource WHERE NOT deleted AND index_hash IS DISTINCT FROM $1', [conformance.searchParameters.fingerprint]);
  return Number(n);
}
