/**
 * Fixed-window counters in memory, per key. Production is one process, so
 * limits may live here (the database invariants do not depend on them).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one event; answers the seconds to wait when the key is over its limit. */
  hit(key: string, now: number): { ok: true } | { ok: false; retryAfterSec: number } {
    const w = this.current(key, now);
    if (w.count >= this.limit) return { ok: false, retryAfterSec: Math.max(1, Math.ceil((w.resetAt - now) / 1000)) };
    w.count++;
    return { ok: true };
  }

  /** Whether the key is blocked, without counting. */
  check(key: string, now: number): { ok: true } | { ok: false; retryAfterSec: number } {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now || w.count < this.limit) return { ok: true };
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((w.resetAt - now) / 1000)) };
  }

  /** Counts without refusing (for failures checked separately); `weight` events at once. */
  add(key: string, now: number, weight = 1): void {
    this.current(key, now).count += weight;
  }

  /** Gives back one counted event (an attempt reserved with hit() that turned out fine). */
  undo(key: string, now: number): void {
    const w = this.windows.get(key);
    if (w && w.resetAt > now && w.count > 0) w.count--;
  }

  clear(key: string): void {
    this.windows.delete(key);
  }

  private current(key: string, now: number) {
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
      if (this.windows.size > 100_000) this.sweep(now);
    }
    return w;
  }

  private sweep(now: number) {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}
