/**
 * Prometheus metrics of job queues, registered on the registry the caller
 * passes in; several queues and workers may share one registry (existing
 * metrics are reused: the kit's ensure* get-or-create). Depth is not counted
 * as jobs move: the gauge asks Redis for the counts of every registered queue
 * when a scrape collects it.
 */
import { ensureCounter, ensureGauge, ensureHistogram } from '@bulwark/service-kit/metrics';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';

export type DeadLetterReason = 'exhausted' | 'non-retryable' | 'poison';

/** Job states reported by the depth gauge. */
export const DEPTH_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const;

const sourcesByGauge = new WeakMap<Gauge, Map<string, Queue>>();

export class JobMetrics {
  readonly enqueued: Counter<'queue'>;
  readonly completed: Counter<'queue'>;
  readonly failed: Counter<'queue'>;
  readonly retried: Counter<'queue'>;
  readonly held: Counter<'queue'>;
  readonly deadLettered: Counter<'queue' | 'reason'>;
  readonly processing: Histogram<'queue' | 'outcome'>;
  readonly waiting: Histogram<'queue'>;
  readonly depth: Gauge<'queue' | 'state'>;
  readonly #sources: Map<string, Queue>;

  constructor(registry: Registry) {
    const counter = (name: string, help: string) => ensureCounter(registry, { name, help, labelNames: ['queue'] as const });
    this.enqueued = counter('bulwark_jobs_enqueued_total', 'Jobs added to a queue (idempotent repeats of an existing job not counted).');
    this.completed = counter('bulwark_jobs_completed_total', 'Jobs whose handler succeeded.');
    this.failed = counter('bulwark_jobs_failed_total', 'Failed attempts (each attempt that threw, stalled out or was poison), retried or not.');
    this.retried = counter('bulwark_jobs_retried_total', 'Failed attempts that were scheduled for another attempt with backoff.');
    this.held = counter('bulwark_jobs_held_total', 'Runs put back to delayed by their handler (holdUntil) without consuming an attempt.');
    this.deadLettered = ensureCounter(registry, {
      name: 'bulwark_jobs_dead_lettered_total',
      help: 'Jobs moved to the dead-letter queue, by reason (exhausted, non-retryable, poison).',
      labelNames: ['queue', 'reason'] as const,
    });
    this.processing = ensureHistogram(registry, {
      name: 'bulwark_jobs_processing_seconds',
      help: 'Handler run time per attempt, by outcome (completed, failed).',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.waiting = ensureHistogram(registry, {
      name: 'bulwark_jobs_waiting_seconds',
      help: 'Time from a job becoming runnable (enqueue + delay) to its first run starting; retries are not observed.',
      labelNames: ['queue'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
    });
    const sources = new Map<string, Queue>();
    this.depth = ensureGauge(registry, {
      name: 'bulwark_jobs_depth',
      help: 'Jobs per queue and state, read from Redis at scrape time.',
      labelNames: ['queue', 'state'] as const,
      async collect() {
        this.reset();
        await Promise.all([...sources].map(async ([name, queue]) => {
          const counts = await queue.getJobCounts(...DEPTH_STATES);
          for (const state of DEPTH_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        }));
      },
    });
    const shared = sourcesByGauge.get(this.depth) ?? sources;
    sourcesByGauge.set(this.depth, shared);
    this.#sources = shared;
  }

  /** Adds a BullMQ queue to the depth gauge under `name` until `untrackDepth`. */
  trackDepth(name: string, queue: Queue): void {
    this.#sources.set(name, queue);
  }

  untrackDepth(name: string, queue: Queue): void {
    if (this.#sources.get(name) === queue) this.#sources.delete(name);
  }
}
