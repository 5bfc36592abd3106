/**
 * The pure arithmetic of an entry's life: jittered TTLs, where an entry stands
 * (fresh, stale but servable while revalidating, kept only for origin errors,
 * gone) and the early probabilistic refresh of hot keys (XFetch: Vattani,
 * Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede Prevention",
 * VLDB 2015). Times are durations or readings of one local clock, never a
 * remote timestamp compared with the local time.
 */

/** How long an entry stays servable after it stops being fresh. */
export interface StaleWindows {
  /** Served at once while one caller refreshes it in the background. */
  staleWhileRevalidateMs: number;
  /** Served only when the origin fails. */
  staleIfErrorMs: number;
}

export type Standing = 'fresh' | 'stale' | 'error-only' | 'expired';

/** `ttlMs` shortened by up to `fraction` of itself, so entries filled together do not expire together. */
export function jitterTtl(ttlMs: number, fraction: number, random: () => number = Math.random): number {
  const f = Math.min(Math.max(fraction, 0), 1);
  return Math.max(1, Math.round(ttlMs * (1 - f * random())));
}

/** How long past freshness the store keeps an entry: the longer of the two windows. */
export function retentionMs(windows: StaleWindows): number {
  return Math.max(windows.staleWhileRevalidateMs, windows.staleIfErrorMs, 0);
}

/** Where an entry with `freshLeftMs` of freshness left stands (negative: expired that long ago). */
export function standing(freshLeftMs: number, windows: StaleWindows): Standing {
  if (freshLeftMs > 0) return 'fresh';
  const age = -freshLeftMs;
  if (age <= windows.staleWhileRevalidateMs) return 'stale';
  if (age <= windows.staleIfErrorMs) return 'error-only';
  return 'expired';
}

/**
 * XFetch: refresh a fresh entry early with a probability that grows as expiry
 * nears and with how long the value took to compute (`deltaMs`); `beta` > 1
 * refreshes earlier, 0 never.
 */
export function shouldRefreshEarly(freshLeftMs: number, deltaMs: number, beta: number, random: () => number = Math.random): boolean {
  if (beta <= 0 || deltaMs <= 0) return false;
  const r = random();
  return freshLeftMs <= deltaMs * beta * -Math.log(r > 0 ? r : Number.MIN_VALUE);
}
