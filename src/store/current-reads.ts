import type { SqlExecutor } from './database.ts';

/** The columns of a current-version row, as Repository selects them. */
export interface CurrentRow {
  resource_type: string;
  id: string;
  version_id: number;
  tx: string;
  last_updated: Date | string;
  deleted: boolean;
  content: string | null;
}

interface WaitingRead {
  readonly resourceType: string;
  readonly id: string;
  resolve(row: CurrentRow | undefined): void;
  reject(err: unknown): void;
}

/** Reads sent in one statement at most: the statement stays small enough to plan quickly. */
const MAX_BATCH = 200;

/** The columns of CurrentRow, in SQL. */
export const CURRENT_ROW_COLUMNS = 'resource_type, id, version_id, tx, last_updated, deleted, content';

/**
 * Primary-key reads of current versions outside a transaction, coalesced while the database is
 * busy. Up to `maxInFlight` statements of reads run at once; reads that arrive while they run wait and go
 * together in the next statement. A lone read is sent at once, so nothing waits on a timer;
 * under load (50 clients reading by id) one round trip serves many reads. On this 2-core machine
 * the round trip, not the lookup, is most of a read's cost: the socket write that wakes the
 * PostgreSQL backend took a third of the server's CPU (bench/RESULTS.md, read by id).
 *
 * Each statement starts after every read in it was asked for, so a read still sees every write
 * committed before it was made (read-your-writes holds as for a single query).
 */
export class CurrentReads {
  private readonly db: SqlExecutor;
  private readonly maxInFlight: number;
  private readonly waiting: WaitingRead[] = [];
  private inFlight = 0;

  constructor(db: SqlExecutor, maxInFlight: number) {
    this.db = db;
    this.maxInFlight = maxInFlight;
  }

  read(resourceType: string, id: string): Promise<CurrentRow | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resourceType, id, resolve, reject });
      this.send();
    });
  }

  private send(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.send();
      });
    }
  }

  private async run(batch: readonly WaitingRead[]): Promise<void> {
    try {
      const rows =
        batch.length === 1
          ? await this.db.query<CurrentRow>(`SELECT ${CURRENT_ROW_COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2`, [batch[0].resourceType, batch[0].id])
          : await this.db.query<CurrentRow>(
              `SELECT ${CURRENT_ROW_COLUMNS} FROM resource
               WHERE (resource_type, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
              [batch.map((read) => read.resourceType), batch.map((read) => read.id)],
            );
      const byKey = new Map(rows.map((row) => [`${row.resource_type}/${row.id}`, row]));
      for (const read of batch) {
        read.resolve(byKey.get(`${read.resourceType}/${read.id}`));
      }
    } catch (err) {
      for (const read of batch) {
        read.reject(err);
      }
    }
  }
}
