import type { SqlExecutor } from './database.ts';

/**
 * Holds a named transaction-scoped advisory lock until the transaction ends
 * (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS): for start-up
 * steps that every process runs, so that processes started together on one database take turns.
 * The embedded database has one connection, where the lock is always free.
 */
export async function holdTransactionLock(tx: SqlExecutor, name: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
}
