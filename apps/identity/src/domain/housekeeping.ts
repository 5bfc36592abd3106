/**
 * The periodic work of a replica: read the key ring (every replica, so each
 * knows the next key before it activates) and, when MAINTENANCE_ENABLED, keep
 * its schedule and delete what has ended (sessions, one-time tokens and the
 * OIDC provider's rows a day after they ended, lockout rows a day after their
 * last failure). Every
 * statement is safe on many replicas at once (advisory lock, bounded DELETEs).
 */
import type { DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit';
import { deleteStaleLockouts } from '../store/lockout-store.ts';
import { deleteExpiredPayloads } from '../store/oidc-store.ts';
import { deleteEnded } from '../store/sessions-store.ts';
import type { KeyRing } from './key-ring.ts';

const KEEP_ENDED_SECONDS = 86_400;

export interface HousekeepingOptions {
  pool: DbPool;
  ring: KeyRing;
  maintain: boolean;
  intervalMs: number;
  log: Logger;
  onFailure?: () => void;
}

export class Housekeeping {
  readonly #options: HousekeepingOptions;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;

  constructor(options: HousekeepingOptions) {
    this.#options = options;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** One pass; throws what failed. */
  async runOnce(): Promise<void> {
    const { ring, maintain, pool } = this.#options;
    if (maintain) {
      await ring.refresh();
      await deleteEnded(pool, KEEP_ENDED_SECONDS);
      await deleteStaleLockouts(pool, KEEP_ENDED_SECONDS);
      await deleteExpiredPayloads(pool, KEEP_ENDED_SECONDS);
    } else {
      await ring.load();
    }
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#pass) return;
      this.#pass = this.runOnce()
        .catch((err: unknown) => {
          this.#options.onFailure?.();
          this.#options.log.error({ err }, 'housekeeping pass failed (key ring or cleanup); retried at the next tick');
        })
        .finally(() => (this.#pass = undefined));
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pass;
  }
}
