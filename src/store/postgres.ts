import pg from 'pg';
import type { Database, SqlExecutor, SqlParam } from './database.ts';

/** PostgreSQL through a `pg` pool: each transaction holds one pooled client from BEGIN to COMMIT. */
export async function openPostgres(connectionString: string, max: number, schema?: string): Promise<Database> {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new Error(`Invalid schema name ${schema}`);
  }
  const pool = new pg.Pool({ connectionString, max, options: schema ? `-c search_path=${schema}` : undefined });
  // A dropped idle connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);
  const executor = (client: pg.Pool | pg.PoolClient): SqlExecutor => ({
    query: async <R extends object>(sql: string, params?: readonly SqlParam[]) =>
      (await client.query(sql, params as unknown[] | undefined)).rows as R[],
    exec: async (sql: string) => {
      await client.query(sql);
    },
  });
  await pool.query('SELECT 1');
  return {
    driver: 'postgres',
    ...executor(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
