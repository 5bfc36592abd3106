/**
 * The signing key schedule, pure (times in ms since the epoch, all on one
 * clock: the database's).
 *
 * - The current key is the one with the latest activation not after now; it
 *   signs until the next key activates.
 * - The next key is created `publishAheadMs` before it activates (never
 *   later), so every replica reads it and every verifier's cached JWKS has it
 *   before the first token it signs.
 * - A superseded key stays published until the last token it can have
 *   signed has expired: `retireAfterMs` (access-token TTL + clock tolerance +
 *   grace) after its successor activated. Then it is dropped from the JWKS
 *   and removed.
 */

export interface ScheduledKey {
  kid: string;
  activatesAt: number;
}

export interface KeySchedule {
  rotationMs: number;
  publishAheadMs: number;
  retireAfterMs: number;
}

export interface RingPlan {
  /** Activation time of a key to create, if one is due. */
  create: number | undefined;
  /** Keys whose last token has expired. */
  remove: string[];
}

function sorted<K extends ScheduledKey>(keys: readonly K[]): K[] {
  return [...keys].sort((a, b) => a.activatesAt - b.activatesAt);
}

/** The key that signs at `now`. */
export function currentKey<K extends ScheduledKey>(keys: readonly K[], now: number): K | undefined {
  let current: K | undefined;
  for (const k of sorted(keys)) if (k.activatesAt <= now) current = k;
  return current;
}

/** Keys to publish at `now`: every key not superseded for longer than retireAfterMs (future keys included). */
export function publishedKeys<K extends ScheduledKey>(keys: readonly K[], now: number, schedule: KeySchedule): K[] {
  const ordered = sorted(keys);
  return ordered.filter((k, i) => {
    const successor = ordered[i + 1];
    return successor === undefined || successor.activatesAt > now - schedule.retireAfterMs;
  });
}

export function planKeyRing(keys: readonly ScheduledKey[], now: number, schedule: KeySchedule): RingPlan {
  const ordered = sorted(keys);
  const published = new Set(publishedKeys(ordered, now, schedule).map((k) => k.kid));
  const remove = ordered.filter((k) => !published.has(k.kid)).map((k) => k.kid);
  const current = currentKey(ordered, now);
  const next = ordered.find((k) => k.activatesAt > now);
  let create: number | undefined;
  if (!current) create = now;
  else if (!next && now >= current.activatesAt + schedule.rotationMs - schedule.publishAheadMs) {
    create = Math.max(current.activatesAt + schedule.rotationMs, now + schedule.publishAheadMs);
  }
  return { create, remove };
}
