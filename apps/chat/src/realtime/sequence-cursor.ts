/**
 * Per connection and room: the last sequence number the client was sent,
 * and what to do with the next one that arrives from the bus. Messages from
 * several instances can reach the bus out of order, and pub/sub may drop
 * one; the numbers say which case it is, and a gap is filled from
 * PostgreSQL (seq N+1 commits only after N, so every number below a
 * published one is readable).
 */
export type Offer = 'deliver' | 'duplicate' | 'gap';

export class SequenceCursor {
  last: number;
  constructor(last: number) {
    this.last = last;
  }

  /** `deliver` moves the cursor; `gap` means read what is missing (after `last`) first. */
  offer(seq: number): Offer {
    if (seq <= this.last) return 'duplicate';
    if (seq === this.last + 1) {
      this.last = seq;
      return 'deliver';
    }
    return 'gap';
  }
}
