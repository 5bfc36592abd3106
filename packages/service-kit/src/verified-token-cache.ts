/**
 * Verified Authorization values → principal, each until min(exp + tolerance,
 * now + ttl), in a bounded map (the oldest insertion goes first). A client
 * sends the same access token for every request of its lifetime, and an
 * ES256/RS256 signature check costs far more than the request around it.
 * Only successful verifications are kept.
 *
 * A keep-alive connection sends the same token on every request: the entry it
 * got last is remembered per connection (weakly), and a request whose header
 * equals that token is answered by a string comparison, not by hashing a
 * ~300-character header for the map. The remembered entry keeps its own
 * `until`, so it is honoured no longer than the map would have.
 */

interface VerifiedEntry<P> {
  readonly principal: P;
  readonly until: number;
}

export class VerifiedTokenCache<P> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #toleranceMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, VerifiedEntry<P>>();
  readonly #byConnection = new WeakMap<object, { authorization: string; entry: VerifiedEntry<P> }>();

  constructor(ttlMs: number, maxEntries: number, toleranceMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
    this.#toleranceMs = toleranceMs;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(authorization: string, connection?: object): P | undefined {
    if (connection !== undefined) {
      const last = this.#byConnection.get(connection);
      if (last !== undefined && last.authorization === authorization) {
        if (this.#now() < last.entry.until) return last.entry.principal;
        this.#byConnection.delete(connection);
      }
    }
    const entry = this.#entries.get(authorization);
    if (entry === undefined) return undefined;
    if (this.#now() < entry.until) {
      if (connection !== undefined) this.#byConnection.set(connection, { authorization, entry });
      return entry.principal;
    }
    this.#entries.delete(authorization);
    return undefined;
  }

  /** `exp` in seconds (JWT NumericDate); a token without one is kept for the TTL. */
  set(authorization: string, principal: P, exp: number | undefined): void {
    if (this.#ttlMs <= 0 || this.#maxEntries <= 0) return;
    const now = this.#now();
    const until = Math.min(now + this.#ttlMs, exp === undefined ? Infinity : exp * 1000 + this.#toleranceMs);
    if (until <= now) return;
    if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!); // the oldest insertion
    this.#entries.set(authorization, { principal, until });
  }
}
