/** The locks' Prometheus series, get-or-create on the caller's registry (every lock kind shares them by the `kind` label). */
import { ensureCounter, ensureHistogram, Registry } from '@bulwark/service-kit/metrics';

export type LockKind = 'pg_session' | 'pg_xact' | 'redlock';

export function createLockMetrics(registry: Registry = new Registry()) {
  return {
    acquisitions: ensureCounter(registry, {
      name: 'lock_acquisitions_total',
      help: 'Lock attempts by outcome: acquired, busy (held elsewhere for the whole wait), error (the store failed).',
      labelNames: ['kind', 'outcome'],
    }),
    waitSeconds: ensureHistogram(registry, {
      name: 'lock_acquire_wait_seconds',
      help: 'Time from asking for a lock to holding it or giving up.',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    }),
    heldSeconds: ensureHistogram(registry, {
      name: 'lock_held_seconds',
      help: 'Time a session lock or Redlock lease was held, acquire to release.',
      labelNames: ['kind'],
      buckets: [0.001, 0.01, 0.1, 1, 10, 60, 600],
    }),
    lost: ensureCounter(registry, {
      name: 'lock_lost_total',
      help: 'Leases found lost at release or extension (session ended, lease expired or taken): the holder worked on a stale token.',
      labelNames: ['kind'],
    }),
    instanceErrors: ensureCounter(registry, {
      name: 'lock_redis_instance_errors_total',
      help: 'Redlock calls to one Redis instance that failed or missed their deadline (counted as a refusal).',
    }),
  };
}

export type LockMetrics = ReturnType<typeof createLockMetrics>;
