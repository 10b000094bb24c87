/**
 * Secrets held in memory for one showing: a new API token between the POST that
 * made it and the page the browser is redirected to (POST-redirect-GET, so a
 * reload creates nothing). Never in the database, whose file and WAL hold no
 * plaintext token, nor in a URL or a cookie. Production is one process, as for
 * the rate limits; a restart in between loses the secret, and the page says so.
 */
export class OneTimeSecrets {
  private readonly held = new Map<string, { secret: string; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxHeld = 1000,
  ) {}

  /** Holds a secret for one take by the same owner (a login's hash) under the same name. */
  put(owner: string, name: string, secret: string, now: number): void {
    for (const [k, s] of this.held) if (s.expiresAt <= now) this.held.delete(k);
    // Oldest first (a Map keeps insertion order): a bound on memory, not a limit anyone meets.
    for (const k of this.held.keys()) {
      if (this.held.size < this.maxHeld) break;
      this.held.delete(k);
    }
    this.held.set(keyOf(owner, name), { secret, expiresAt: now + this.ttlMs });
  }

  /** The secret, once; undefined for another owner, after the first take, or once expired. */
  take(owner: string, name: string, now: number): string | undefined {
    const k = keyOf(owner, name);
    const s = this.held.get(k);
    if (!s) return undefined;
    this.held.delete(k);
    return s.expiresAt > now ? s.secret : undefined;
  }
}

const keyOf = (owner: string, name: string) => `${owner}\n${name}`;
