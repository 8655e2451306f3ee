import type { SqlExecutor } from '../../store/database.ts';
import { liveOAuthRecordIds } from '../../store/oauth-records.ts';
import type { RevokedTokens } from '../access.ts';
import { REVOKED } from './introspection.ts';

/**
 * The revoked, unexpired access tokens as the FHIR API checks them (RFC 7009 §2: a revoked token
 * must stop working). Checking the database on every request would cost each read a query, so
 * each server process keeps the list in memory: refreshed at once when this process revokes a
 * token, and every `pollMs` from the database for revocations made through another process. The
 * list stays short: an access token lives at most an hour.
 */
export class RevokedAccessTokens implements RevokedTokens {
  private ids: ReadonlySet<string> = new Set();
  private timer: NodeJS.Timeout | undefined;

  private readonly sql: SqlExecutor;
  private readonly pollMs: number;

  constructor(sql: SqlExecutor, pollMs: number) {
    this.sql = sql;
    this.pollMs = pollMs;
  }

  has(jti: string): boolean {
    return this.ids.has(jti);
  }

  async refresh(): Promise<void> {
    this.ids = new Set(await liveOAuthRecordIds(this.sql, REVOKED));
  }

  /** Loads the list and keeps it current until stop(); a failed poll keeps the last list. */
  async start(onError: (err: unknown) => void): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => this.refresh().catch(onError), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
