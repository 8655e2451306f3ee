import type { Logger } from 'pino';
import type { Database } from './database.ts';

/** The tables whose statistics the search queries' plans depend on. */
const ANALYZED_TABLES = ['resource', 'sp_token', 'sp_string', 'sp_reference', 'sp_date', 'sp_number', 'sp_quantity', 'sp_uri', 'sp_composite'];

/** Writes before the first ANALYZE, and the floor of the threshold after it. */
const MIN_WRITES = 500;
/** Like autovacuum's analyze_scale_factor: re-analyze once this share of the rows was written. */
const SCALE_FACTOR = 0.1;

/**
 * Keeps the planner statistics of the resource and search-index tables current on a PostgreSQL
 * server that runs with autovacuum off (this machine's does). With statistics from when the
 * tables were empty the planner takes a common token (every PCSP has category pcsp) for a rare
 * one and probes it by value instead of by resource id (10 ms instead of 1.5 ms per search at
 * 1,000 members). The rule is autovacuum's: ANALYZE once the rows written since the last one
 * exceed 10% of the table (https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-STATISTICS).
 *
 * Not on PGlite, although it runs no autovacuum either: measured with 400 members, its plans
 * with fresh statistics were slower (ServiceRequest and Task searches ~45% fewer requests/s,
 * bench/RESULTS.md 02:08 against 02:00), and ANALYZE runs on the event loop, holding up every
 * request meanwhile (import p99 0.1 → 1.7 s).
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

  /** Whether this database needs it: PostgreSQL with autovacuum off. */
  static async needed(db: Database): Promise<boolean> {
    if (db.driver === 'pglite') return false;
    const [row] = await db.query<{ autovacuum: string }>('SHOW autovacuum');
    return row?.autovacuum !== 'on';
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
      for (const table of ANALYZED_TABLES) {
        await this.db.exec(`ANALYZE ${table}`);
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
