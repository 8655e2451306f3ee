import type { Logger } from 'pino';
import type { Database } from './database.ts';

/** The tables whose statistics the search queries' plans depend on. */
const ANALYZED_TABLES = ['resource', 'sp_token', 'sp_string', 'sp_reference', 'sp_date', 'sp_number', 'sp_quantity', 'sp_uri', 'sp_composite'];

/** Writes before the first ANALYZE, and the floor of the threshold after it. */
const MIN_WRITES = 500;
/** Like autovacuum's analyze_scale_factor: re-analyze once this share of the rows was written. */
const SCALE_FACTOR = 0.1;
/** Pages of `resource` below which growth since the last ANALYZE is not looked at (start). */
const MIN_GROWN_PAGES = 16;

/**
 * On the embedded database ANALYZE samples this many rows per statistics unit instead of
 * PostgreSQL's 100 (3,000 rows per table instead of 30,000): ANALYZE runs in the server's own
 * thread there, and what the generic plans need is coarse (that resource_id is nearly unique,
 * a token value is not), which a small sample gives.
 */
const PGLITE_STATISTICS_TARGET = 10;
/** The columns of `resource` searches filter on; its content is never a search condition. */
const RESOURCE_COLUMNS = '(resource_type, id, last_updated, deleted, index_hash)';

/**
 * Keeps the planner statistics of the resource and search-index tables current where no
 * autovacuum does: a PostgreSQL server that runs with autovacuum off (this machine's does), and
 * the embedded database (PGlite has no autovacuum). The rule is autovacuum's: ANALYZE once the
 * rows written since the last one exceed 10% of the table
 * (https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-STATISTICS), and at
 * start when a database that holds data was never analyzed. Statistics are catalog rows, so they
 * outlive a restart.
 *
 * Why: with statistics from when the tables were empty the planner takes a common token (every
 * PCSP has category pcsp) for a rare one and probes it by value instead of by resource id (10 ms
 * instead of 1.5 ms per search at 1,000 members). With none at all, PGlite's generic plans probed
 * `category=laboratory` through the (resource_type, code, value) index, reading every laboratory
 * Observation once per candidate of the patient: 0.3-1 s a page (issue 23, bench/RESULTS-search.md).
 * PGlite analyzes with a small sample (PGLITE_STATISTICS_TARGET) and one table per statement, so
 * requests run between them.
 */
export class PlannerStatistics {
  private writesSinceAnalyze = 0;
  private rowsAtAnalyze = 0;
  private running: Promise<void> | undefined;
  private readonly db: Database;
  private readonly logger: Logger | undefined;

  constructor(db: Database, logger?: Logger) {
    this.db = db;
    this.logger = logger;
  }

  /** Whether this database needs it: the embedded one, or PostgreSQL with autovacuum off. */
  static async needed(db: Database): Promise<boolean> {
    if (db.driver === 'pglite') return true;
    const [row] = await db.query<{ autovacuum: string }>('SHOW autovacuum');
    return row?.autovacuum !== 'on';
  }

  /**
   * At start: the table size the 10% rule counts from, and an ANALYZE now if the database holds
   * data but has no statistics, or grew by more than 10% since its last ANALYZE (pages now
   * against pages then): writes this process did not see, such as a load by another command.
   */
  async start(): Promise<void> {
    const [row] = await this.db.query<{ rows: number; pages_then: number; pages_now: number; analyzed: boolean; filled: boolean }>(
      `SELECT c.reltuples::float8 AS rows, c.relpages AS pages_then,
              (pg_relation_size(c.oid) / current_setting('block_size')::int)::int AS pages_now,
              EXISTS (SELECT 1 FROM pg_stats WHERE tablename = 'resource' AND schemaname = current_schema()) AS analyzed,
              (SELECT count(*) FROM (SELECT 1 FROM resource LIMIT ${MIN_WRITES}) s) >= ${MIN_WRITES} AS filled
         FROM pg_class c WHERE c.oid = 'resource'::regclass`,
    );
    if (!row) return;
    this.rowsAtAnalyze = Math.max(0, Number(row.rows));
    const grown = Number(row.pages_now) > Math.max(MIN_GROWN_PAGES, (1 + SCALE_FACTOR) * Number(row.pages_then));
    if (row.filled && (!row.analyzed || grown)) {
      this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.analyze());
    }
  }

  /** Called after a transaction committed `count` new versions. */
  noteWrites(count: number): void {
    this.writesSinceAnalyze += count;
    if (!this.running && this.writesSinceAnalyze > Math.max(MIN_WRITES, SCALE_FACTOR * this.rowsAtAnalyze)) {
      // After the current request: ANALYZE samples the tables and must not hold up the write.
      this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.analyze());
    }
  }

  private async analyze(): Promise<void> {
    const started = Date.now();
    this.writesSinceAnalyze = 0;
    try {
      const pglite = this.db.driver === 'pglite';
      for (const table of ANALYZED_TABLES) {
        const columns = pglite && table === 'resource' ? ` ${RESOURCE_COLUMNS}` : '';
        // One call: nothing else runs on the embedded database's one session between SET and RESET.
        await this.db.exec(
          pglite
            ? `SET default_statistics_target = ${PGLITE_STATISTICS_TARGET}; ANALYZE ${table}${columns}; RESET default_statistics_target`
            : `ANALYZE ${table}`,
        );
      }
      const [row] = await this.db.query<{ rows: number }>("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'resource'::regclass");
      this.rowsAtAnalyze = Math.max(0, Number(row?.rows ?? 0));
      this.logger?.debug({ ms: Date.now() - started, resources: this.rowsAtAnalyze }, 'planner statistics updated');
    } catch (err) {
      this.logger?.warn({ err }, 'ANALYZE failed; search plans may be poor until it succeeds');
    } finally {
      this.running = undefined;
    }
  }

  /** Waits for a running ANALYZE (before the database closes). */
  async settled(): Promise<void> {
    await this.running;
  }
}
