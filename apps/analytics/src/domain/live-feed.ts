/**
 * The live feed's bookkeeping (pure). The feed polls the hourly rollups for
 * rows changed after its cursor, less an overlap: a rollup row's updated_at is
 * its transaction's start, so a transaction that commits a moment after a
 * poll can carry a time just before that poll's cursor. Rows seen again in
 * the overlap with the same count and sum are not sent twice; a bucket that
 * changed is sent with its new totals (a dashboard replaces, never adds).
 */
export interface BucketChange {
  type: string;
  field: string;
  bucket: Date;
  n: number;
  sum: number;
  /** updated_at in µs since the epoch (decimal text). */
  micros: string;
}

export class LiveFeed<C extends BucketChange = BucketChange> {
  #cursor: bigint;
  readonly #overlap: bigint;
  readonly #sent = new Map<string, { n: number; sum: number; micros: bigint }>();

  constructor(cursorMicros: bigint, overlapMicros: bigint) {
    this.#cursor = cursorMicros;
    this.#overlap = overlapMicros;
  }

  /** The feed's position: the newest change sent (the SSE id). */
  get cursor(): bigint {
    return this.#cursor;
  }

  /** Where the next poll starts: the cursor less the overlap. */
  pollFrom(): bigint {
    return this.#cursor - this.#overlap;
  }

  /** The rows of a poll (oldest first) that are news; advances the cursor. */
  take(rows: readonly C[]): C[] {
    const news: C[] = [];
    for (const row of rows) {
      const key = `${row.type}\u0000${row.field}\u0000${row.bucket.getTime()}`;
      const micros = BigInt(row.micros);
      const seen = this.#sent.get(key);
      if (seen && seen.n === row.n && seen.sum === row.sum) continue;
      this.#sent.set(key, { n: row.n, sum: row.sum, micros });
      if (micros > this.#cursor) this.#cursor = micros;
      news.push(row);
    }
    const horizon = this.#cursor - this.#overlap;
    for (const [key, seen] of this.#sent) if (seen.micros < horizon) this.#sent.delete(key);
    return news;
  }
}
