import { afterEach, describe, expect, it } from '@jest/globals';
import { fixRequestQueue, loadRequestQueue } from './kafkajs-request-queue.ts';

const RequestQueue = loadRequestQueue();
const logger = { debug() {}, info() {}, warn() {}, error() {} };
const queues: { destroy(): void }[] = [];

function newQueue() {
  const q = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'localhost:9092', logger });
  queues.push(q as unknown as { destroy(): void });
  return q;
}

afterEach(() => {
  for (const q of queues.splice(0)) q.destroy();
});

describe('kafkajs RequestQueue fix', () => {
  it('when kafkajs is the known version, then the faulty scheduler is replaced (idempotently)', () => {
    expect(fixRequestQueue(RequestQueue)).toBe(true);
    expect(fixRequestQueue(RequestQueue)).toBe(true);
  });

  it('when a response empties the queue and nothing is throttled, then no timer is armed (no negative setTimeout, no 1 ms loop)', () => {
    fixRequestQueue(RequestQueue);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const q = newQueue();
      q.checkPendingRequests(); // what fulfillRequest does after every response
      expect(q.throttleCheckTimeoutId).toBeNull();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutNegativeWarning');
  });

  it('when requests are pending behind a client-side throttle, then a check is armed for when the throttle ends', () => {
    fixRequestQueue(RequestQueue);
    const q = newQueue();
    q.throttledUntil = Date.now() + 60_000;
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    const timer = q.throttleCheckTimeoutId as unknown as { _idleTimeout: number } | null;
    expect(timer).not.toBeNull();
    expect(timer!._idleTimeout).toBeGreaterThan(59_000);
  });
});
