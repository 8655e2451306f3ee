import type { Database, SqlExecutor } from './database.ts';

/**
 * Every write transaction holds this advisory lock shared from the moment it takes its number from
 * `tx_seq` until it commits; taking it exclusively therefore waits for every transaction that
 * holds a number and keeps new ones from taking one. Transaction numbers are handed out in start
 * order, not commit order (docs/architecture.md, "Versions and time"), so this is what makes "every
 * transaction numbered up to P has committed" true at the moment a point P is taken. Arbitrary
 * constant, shared by every kanplan process on one database.
 */
export const TX_NUMBER_LOCK = 7_061_525;

/** The statement that numbers a write transaction, under the shared lock (see TX_NUMBER_LOCK). */
export const NEXT_TX_NUMBER = `SELECT nextval('tx_seq') AS tx FROM (SELECT pg_advisory_xact_lock_shared(${TX_NUMBER_LOCK}) OFFSET 0) AS held`;

/** A point in the transaction numbering and the instant reported for it. */
export interface TransactionPoint {
  readonly tx: number;
  /** ISO instant, millisecond precision (what a manifest's transactionTime carries). */
  readonly at: string;
}

/**
 * A new point: every transaction numbered up to `tx` has committed (or rolled back), every later
 * one gets a greater number. Takes the number lock exclusively for the span of one short
 * transaction: writers starting meanwhile wait for it, writers in flight are waited for.
 * Recorded with its instant so `pointAt` can find it again.
 */
export async function takeTransactionPoint(db: Database): Promise<TransactionPoint> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [TX_NUMBER_LOCK]);
    const [{ last }] = await tx.query<{ last: string }>("SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS last FROM tx_seq");
    const at = new Date().toISOString();
    // Two points in the same millisecond share the first one's number: both are consistent points.
    const [row] = await tx.query<{ tx: string }>(
      'INSERT INTO transaction_point (at, tx) VALUES ($1::timestamptz, $2) ON CONFLICT (at) DO UPDATE SET tx = transaction_point.tx RETURNING tx',
      [at, Number(last)],
    );
    return { tx: Number(row.tx), at };
  });
}

/**
 * Returns once every write transaction that holds a number at the moment of the call has committed
 * or rolled back (the number lock taken exclusively, then released): a barrier after which no
 * write composed before it is still to commit, except a one-statement write not yet started in the
 * database (its statement takes the shared lock itself, see NEXT_TX_NUMBER and version-statement.ts).
 */
export async function awaitNumberedWrites(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [TX_NUMBER_LOCK]);
  });
}

/** The point recorded for exactly this instant, if any (a continuation's `_since`). */
export async function pointAt(sql: SqlExecutor, at: string): Promise<number | undefined> {
  const [row] = await sql.query<{ tx: string }>('SELECT tx FROM transaction_point WHERE at = $1::timestamptz', [at]);
  return row === undefined ? undefined : Number(row.tx);
}
