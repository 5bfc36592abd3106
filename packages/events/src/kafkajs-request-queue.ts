/**
 * A fix for kafkajs 2.2.4's RequestQueue (tulios/kafkajs#1751, #1704; the
 * project has no release after 2.2.4), applied once when kafka.ts loads.
 *
 * `scheduleCheckPendingRequests` computes `throttledUntil - Date.now()`; with
 * no client-side throttle `throttledUntil` is -1, so the delay is about
 * −Date.now(). With requests pending it falls back to 10 ms, but with none it
 * calls `setTimeout(check, −1.79e12)`: Node warns (TimeoutNegativeWarning at
 * every service start), runs it after 1 ms, and the check schedules itself
 * again — a 1 kHz timer per broker connection for the life of the process.
 * With nothing pending there is nothing to check: `push()` schedules a check
 * when it enqueues, and a response or timeout checks the queue itself.
 *
 * Replaced only when the method is the known 2.2.4 text, so an upgraded
 * kafkajs keeps its own code (and this module becomes a no-op to delete).
 */
import { createRequire } from 'node:module';

/** Same fallback as kafkajs's CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

export type RequestQueueClass = { prototype: RequestQueueInternals } & (new (options: Record<string, unknown>) => RequestQueueInternals);

/** kafkajs's internal RequestQueue class (CommonJS, not part of its public API). */
export function loadRequestQueue(): RequestQueueClass {
  return createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
}

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

/** Patches RequestQueue once; returns whether the known-faulty method was found and replaced. */
export function fixRequestQueue(RequestQueue: RequestQueueClass = loadRequestQueue()): boolean {
  const current = RequestQueue.prototype.scheduleCheckPendingRequests;
  if (current === scheduleCheckPendingRequests) return true;
  if (!String(current).includes('this.throttledUntil - Date.now()')) return false;
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}
