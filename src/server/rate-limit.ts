import type { RateLimitSettings } from '../config.ts';

/** What a limiter answers for one attempt. */
export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Keys kept at most; past this, windows that have ended are dropped first, then the oldest. */
const MAX_KEYS = 100_000;

/**
 * A fixed-window counter per key (e.g. client and address, or address and login name), in the
 * memory of this process. With N processes behind a load balancer a client gets up to N times
 * the limit — acceptable for what it is for: slowing password guessing and token-endpoint abuse
 * to a trickle, not metering. README "Running in production" says so.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  private readonly settings: RateLimitSettings;
  private readonly now: () => number;

  constructor(settings: RateLimitSettings, now: () => number = Date.now) {
    this.settings = settings;
    this.now = now;
  }

  /** Counts one attempt under `key`; refused once the window already holds `limit` attempts. */
  take(key: string): RateDecision {
    if (this.settings.limit === 0) return { allowed: true };
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= MAX_KEYS) this.prune(now);
      window = { count: 0, endsAt: now + this.settings.windowMs };
      this.windows.set(key, window);
    }
    if (window.count >= this.settings.limit) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
    window.count++;
    return { allowed: true };
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    // Still full (a flood of distinct keys): forget the oldest windows (Map keeps insertion order).
    for (const key of this.windows.keys()) {
      if (this.windows.size < MAX_KEYS) break;
      this.windows.delete(key);
    }
  }
}
