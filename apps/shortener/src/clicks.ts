/**
 * Clicks are counted in memory and written in batches: a redirect does no
 * database write, so its latency is one cache lookup. Every `flushMs` (and at
 * shutdown) the batch goes to PostgreSQL in one transaction: counters, last
 * access, referrers and one outbox event per click (applyClicks). A failed
 * flush keeps its clicks for the next one. Bounded: past `maxPending` clicks
 * waiting (the database away for long), new clicks are dropped and counted
 * (`shortener_clicks_dropped_total`) rather than growing memory; a process
 * killed with SIGKILL loses at most the clicks of its last `flushMs`. That is
 * the trade: analytics, not money (docs/DECISIONS.md).
 */
import type { Registry } from 'prom-client';
import { ensureCounter, ensureGauge } from '@bulwark/service-kit/metrics';
import { withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit/logging';
import { applyClicks, type ClickCount } from './store/link-store.ts';

export interface ClickRecorderOptions {
  pool: DbPool;
  flushMs: number;
  maxPending: number;
  registry: Registry;
  log: Logger;
}

export interface ClickRecorder {
  record(code: string, referrer: string, at?: Date): void;
  /** Writes what is pending now; resolves when written (or kept for the next try). */
  flush(): Promise<void>;
  start(): void;
  /** Stops the timer and writes what is pending. */
  stop(): Promise<void>;
  readonly pending: number;
}

export function createClickRecorder(options: ClickRecorderOptions): ClickRecorder {
  const { pool, log } = options;
  let batch = new Map<string, ClickCount>();
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  const recorded = ensureCounter(options.registry, { name: 'shortener_clicks_recorded_total', help: 'Clicks counted in memory, waiting for a flush.' });
  const written = ensureCounter(options.registry, { name: 'shortener_clicks_written_total', help: 'Clicks written to PostgreSQL (counters and outbox events).' });
  const dropped = ensureCounter(options.registry, { name: 'shortener_clicks_dropped_total', help: 'Clicks dropped because too many were waiting (the database away).' });
  const failures = ensureCounter(options.registry, { name: 'shortener_click_flush_failures_total', help: 'Flushes that failed (the clicks are kept for the next).' });
  const waiting = ensureGauge(options.registry, { name: 'shortener_clicks_pending', help: 'Clicks counted in memory and not yet written.' });

  function merge(into: Map<string, ClickCount>, from: Map<string, ClickCount>): void {
    for (const [code, c] of from) {
      const have = into.get(code);
      if (!have) {
        into.set(code, c);
        continue;
      }
      have.clicks += c.clicks;
      if (c.lastAt > have.lastAt) have.lastAt = c.lastAt;
      for (const [r, n] of c.referrers) have.referrers.set(r, (have.referrers.get(r) ?? 0) + n);
      have.events.unshift(...c.events);
    }
  }

  async function flushNow(): Promise<void> {
    if (batch.size === 0) return;
    const taking = batch;
    const count = pending;
    batch = new Map();
    pending = 0;
    waiting.set(0);
    try {
      await withSystemContext(pool, 'shortener.clicks', () => withTransaction(pool, (tx) => applyClicks(tx, [...taking.values()])));
      written.inc(count);
    } catch (err) {
      failures.inc();
      log.warn({ err, clicks: count }, 'writing clicks failed; kept for the next flush');
      merge(taking, batch);
      batch = taking;
      pending += count;
      waiting.set(pending);
    }
  }

  const recorder: ClickRecorder = {
    record(code, referrer, at = new Date()) {
      if (pending >= options.maxPending) {
        dropped.inc();
        return;
      }
      pending++;
      waiting.set(pending);
      recorded.inc();
      let c = batch.get(code);
      if (!c) batch.set(code, (c = { code, clicks: 0, lastAt: at, referrers: new Map(), events: [] }));
      c.clicks++;
      if (at > c.lastAt) c.lastAt = at;
      c.referrers.set(referrer, (c.referrers.get(referrer) ?? 0) + 1);
      c.events.push({ at, referrer });
    },
    flush() {
      // One flush at a time: a second caller waits for the one in flight, then writes what came after.
      const run = (flushing ?? Promise.resolve()).then(flushNow);
      flushing = run;
      void run.finally(() => {
        if (flushing === run) flushing = undefined;
      });
      return run;
    },
    start() {
      timer ??= setInterval(() => void recorder.flush(), options.flushMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await recorder.flush();
    },
    get pending() {
      return pending;
    },
  };
  return recorder;
}
