import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { backoffDelay, TokenBucket, WorkQueue, type WorkQueueOptions } from './queue.ts';
import { deferred, FakeClock, settle } from './testing/fake-clock.ts';

function setup(options: Partial<WorkQueueOptions> = {}, reconcile?: (key: string) => Promise<void>) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const registry = new Registry();
  const queue = new WorkQueue({
    name: 'test',
    clock,
    registry,
    rateLimit: { perSecond: 1000, burst: 1000 },
    reconcile: async (key) => {
      calls.push(key);
      await reconcile?.(key);
    },
    ...options,
  });
  return { clock, calls, queue, registry };
}

describe('backoffDelay', () => {
  it('when failures grow, then the delay doubles from base and stops at max', () => {
    const backoff = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 5, 6, 2000].map((n) => backoffDelay(n, backoff))).toEqual([0, 100, 200, 400, 800, 1000, 1000, 1000]);
  });
});

describe('TokenBucket', () => {
  it('when the burst is spent, then the next token is available after 1/perSecond', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ perSecond: 2, burst: 2 }, clock);
    expect([bucket.take(), bucket.take()]).toEqual([0, 0]);
    expect(bucket.take()).toBe(500);
    await clock.advance(500);
    expect(bucket.take()).toBe(0);
  });

  it('when perSecond is not positive, then construction fails naming it', () => {
    expect(() => new TokenBucket({ perSecond: 0, burst: 1 }, new FakeClock())).toThrow(/perSecond > 0/);
  });
});

describe('WorkQueue', () => {
  it('when a key is added several times before a worker takes it, then it is reconciled once', async () => {
    const gate = deferred();
    const { queue, calls } = setup({}, async (key) => {
      if (key === 'ns/block') await gate.promise;
    });
    queue.add('ns/block');
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    gate.resolve();
    await settle();
    expect(calls).toEqual(['ns/block', 'ns/a']);
  });

  it('when a key is added while it is being reconciled, then it is reconciled again afterwards, never twice at once', async () => {
    let running = 0;
    let maxRunning = 0;
    const gates = [deferred(), deferred()];
    let n = 0;
    const { queue, calls } = setup({ concurrency: 4 }, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gates[n++]?.promise;
      running--;
    });
    queue.add('ns/a');
    await settle();
    queue.add('ns/a');
    queue.add('ns/a');
    await settle();
    expect(calls).toEqual(['ns/a']);
    gates[0]?.resolve();
    await settle();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    gates[1]?.resolve();
    await settle();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    expect(maxRunning).toBe(1);
  });

  it('when concurrency is 2, then two different keys run at once and the third waits', async () => {
    const gates = new Map([['a', deferred()], ['b', deferred()], ['c', deferred()]]);
    const { queue, calls } = setup({ concurrency: 2 }, (key) => gates.get(key)?.promise ?? Promise.resolve());
    queue.add('a');
    queue.add('b');
    queue.add('c');
    await settle();
    expect(calls).toEqual(['a', 'b']);
    expect(queue.stats()).toEqual({ ready: 1, processing: 2, waiting: 0 });
    gates.get('b')?.resolve();
    await settle();
    expect(calls).toEqual(['a', 'b', 'c']);
  });

  it('when reconcile keeps failing, then retries wait base, 2×base, 4×base … up to max', async () => {
    const errors: Array<[string, number]> = [];
    const { queue, calls, clock } = setup(
      { backoff: { baseMs: 100, maxMs: 350 }, onError: (key, _err, retryInMs) => errors.push([key, retryInMs]) },
      async () => {
        throw new Error('boom');
      },
    );
    queue.add('ns/a');
    await settle();
    expect(calls).toHaveLength(1);
    for (const [wait, expected] of [[100, 2], [200, 3], [350, 4], [350, 5]] as const) {
      await clock.advance(wait - 1);
      expect(calls).toHaveLength(expected - 1);
      await clock.advance(1);
      expect(calls).toHaveLength(expected);
    }
    expect(errors.map(([, ms]) => ms)).toEqual([100, 200, 350, 350, 350]);
    expect(queue.failures('ns/a')).toBe(5);
  });

  it('when a failing key then succeeds, then its backoff resets to base', async () => {
    let fail = true;
    const { queue, calls, clock } = setup({ backoff: { baseMs: 100, maxMs: 10_000 } }, async () => {
      if (fail) throw new Error('boom');
    });
    queue.add('k');
    await clock.advance(100);
    await clock.advance(200);
    expect(calls).toHaveLength(3);
    fail = false;
    await clock.advance(400);
    expect(calls).toHaveLength(4);
    expect(queue.failures('k')).toBe(0);
    fail = true;
    queue.add('k');
    await settle();
    expect(clock.pending()).toEqual([100]);
  });

  it('when a key waiting for a retry is added again, then it runs at once and keeps its failure count', async () => {
    const { queue, calls, clock } = setup({ backoff: { baseMs: 1000, maxMs: 10_000 } }, async () => {
      throw new Error('boom');
    });
    queue.add('k');
    await settle();
    expect(queue.stats().waiting).toBe(1);
    queue.add('k');
    await settle();
    expect(calls).toHaveLength(2);
    expect(queue.failures('k')).toBe(2);
    expect(clock.pending()).toEqual([2000]);
  });

  it('when a reconcile fails but the key was added meanwhile, then it is retried at once, not after backoff', async () => {
    const gate = deferred();
    let n = 0;
    const { queue, calls } = setup({ backoff: { baseMs: 60_000, maxMs: 60_000 } }, async () => {
      if (n++ === 0) {
        await gate.promise;
        throw new Error('boom');
      }
    });
    queue.add('k');
    await settle();
    queue.add('k');
    gate.resolve();
    await settle();
    expect(calls).toEqual(['k', 'k']);
    expect(queue.stats()).toEqual({ ready: 0, processing: 0, waiting: 0 });
  });

  it('when the token bucket is empty, then the next reconcile waits for a token', async () => {
    const { queue, calls, clock } = setup({ rateLimit: { perSecond: 2, burst: 2 }, concurrency: 10 });
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await settle();
    expect(calls).toEqual(['a', 'b']);
    await clock.advance(499);
    expect(calls).toEqual(['a', 'b']);
    await clock.advance(1);
    expect(calls).toEqual(['a', 'b', 'c']);
    await clock.advance(500);
    expect(calls).toEqual(['a', 'b', 'c', 'd']);
  });

  it('when shut down, then in-flight and ready keys drain, retries are dropped and new keys are refused', async () => {
    const gate = deferred();
    const { queue, calls, clock } = setup({ backoff: { baseMs: 10, maxMs: 10 } }, async (key) => {
      if (key === 'slow') await gate.promise;
      if (key === 'bad') throw new Error('boom');
    });
    queue.add('bad');
    await settle();
    queue.add('slow');
    queue.add('ready');
    await settle();
    let done = false;
    const stopped = queue.shutdown().then(() => {
      done = true;
    });
    expect(queue.add('late')).toBe(false);
    await settle();
    expect(done).toBe(false);
    gate.resolve();
    await stopped;
    await clock.advance(1000);
    expect(calls).toEqual(['bad', 'slow', 'ready']);
  });

  it('when shut down without drain, then only the in-flight reconcile finishes', async () => {
    const gate = deferred();
    const { queue, calls } = setup({}, async (key) => {
      if (key === 'slow') await gate.promise;
    });
    queue.add('slow');
    queue.add('next');
    await settle();
    const stopped = queue.shutdown({ drain: false });
    gate.resolve();
    await stopped;
    expect(calls).toEqual(['slow']);
  });

  it('when an idle queue is shut down, then shutdown resolves at once', async () => {
    const { queue } = setup();
    await expect(queue.shutdown()).resolves.toBeUndefined();
  });

  it('when keys are added, merged and retried, then the metrics count them', async () => {
    let fail = true;
    const { queue, registry, clock } = setup({ backoff: { baseMs: 10, maxMs: 10 } }, async () => {
      if (fail) {
        fail = false;
        throw new Error('boom');
      }
    });
    queue.add('k');
    await clock.advance(10);
    const text = await registry.metrics();
    expect(text).toContain('operator_workqueue_adds_total{queue="test"} 1');
    expect(text).toContain('operator_workqueue_retries_total{queue="test"} 1');
    expect(text).toContain('operator_reconcile_total{queue="test",result="error"} 1');
    expect(text).toContain('operator_reconcile_total{queue="test",result="success"} 1');
  });

  it('when concurrency is not a positive integer, then construction fails naming it', () => {
    expect(() => setup({ concurrency: 0 })).toThrow(/concurrency must be an integer >= 1/);
  });
});
