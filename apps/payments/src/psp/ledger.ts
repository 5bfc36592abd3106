/**
 * The simulator's memory: payment intents by id, and the idempotency records
 * by key. A key remembers the fingerprint of its first request and the
 * outcome (a response or an error); a concurrent request with the same key
 * waits for the first one's outcome instead of running twice, which is the
 * property the payments service relies on when it retries after a timeout.
 */
import { AppError } from '@bulwark/errors';
import { pspError } from './errors.ts';
import type { PaymentIntent } from './intent.ts';

export interface Outcome {
  status: 200 | 201;
  body: PaymentIntent;
}

interface KeyRecord {
  fingerprint: string;
  outcome: Promise<Outcome>;
}

export interface PspCounters {
  authorizations: number;
  declines: number;
  captures: number;
  voids: number;
  refunds: number;
  replays: number;
  /** Answers held for PSP_TIMEOUT_HOLD_MS (simulated timeouts). */
  timeouts: number;
}

export class PspLedger {
  readonly intents = new Map<string, PaymentIntent>();
  readonly counters: PspCounters = { authorizations: 0, declines: 0, captures: 0, voids: 0, refunds: 0, replays: 0, timeouts: 0 };
  readonly #keys = new Map<string, KeyRecord>();

  /**
   * Runs `work` once per key. Returns its outcome and whether this call was a
   * replay; a stored error (decline, invalid state) is rethrown on replay.
   * Errors that are not AppErrors are not remembered: the key can be retried.
   */
  async once(key: string, fingerprint: string, work: () => Promise<Outcome>): Promise<{ outcome: Outcome; replayed: boolean }> {
    const existing = this.#keys.get(key);
    if (existing) {
      if (existing.fingerprint !== fingerprint) throw pspError('PSP_SIM_KEY_REUSED', 'this Idempotency-Key was used for a different request');
      this.counters.replays++;
      return { outcome: await existing.outcome, replayed: true };
    }
    const outcome = work();
    this.#keys.set(key, { fingerprint, outcome });
    outcome.catch((err: unknown) => {
      if (!(err instanceof AppError)) this.#keys.delete(key);
    });
    return { outcome: await outcome, replayed: false };
  }

  get(id: string): PaymentIntent {
    const intent = this.intents.get(id);
    if (!intent) throw pspError('PSP_SIM_INTENT_NOT_FOUND', `no payment intent ${id}`, { intentId: id });
    return intent;
  }
}
