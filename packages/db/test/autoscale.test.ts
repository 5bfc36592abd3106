import { afterEach, describe, expect, it } from '@jest/globals';
import { metricValue, testPool, waitFor, type TestPool } from './support.ts';

let pool: TestPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('pool autoscaling', () => {
  it('when callers keep waiting, then the pool grows to max; when load stops, it shrinks back to min', async () => {
    pool = testPool({
      min: 1,
      max: 8,
      acquireTimeoutMs: 30_000,
      autoscale: { intervalMs: 20, growAfterTicks: 2, shrinkAfterTicks: 3, growStep: 1, shrinkStep: 2 },
    });
    const p = pool;
    expect(p.stats().size).toBe(1);

    let stop = false;
    let maxOpen = 0;
    const worker = async () => {
      while (!stop) {
        await p.query({ name: 'load.sleep', text: 'SELECT pg_sleep(0.05)' });
        maxOpen = Math.max(maxOpen, p.stats().total);
      }
    };
    const workers = Array.from({ length: 10 }, worker);

    await waitFor(() => p.stats().size === 8, 'pool grown to max');
    await waitFor(() => maxOpen >= 8, 'connections opened up to the new size');
    stop = true;
    await Promise.all(workers);

    await waitFor(() => p.stats().size === 1, 'pool shrunk to min');
    await waitFor(() => p.stats().total <= 1, 'idle connections above the size closed');

    const resizes = p.log.withMsg('database pool resized').map((e) => e.obj as { from: number; to: number });
    const grows = resizes.filter((r) => r.to > r.from);
    const shrinks = resizes.filter((r) => r.to < r.from);
    expect(grows.length).toBeGreaterThanOrEqual(2);
    expect(shrinks.length).toBeGreaterThanOrEqual(2);
    expect(resizes.every((r) => r.to >= 1 && r.to <= 8)).toBe(true);
    expect(await metricValue(p.registry, 'db_pool_resizes_total', { pool: p.name, direction: 'grow' })).toBe(grows.length);
    expect(await metricValue(p.registry, 'db_pool_size', { pool: p.name })).toBe(1);
  });

  it('when the pool is idle, then the autoscaler only shrinks it, one step per two ticks down to min, and never grows it', async () => {
    // Ticks shown by a positive marker, not by waiting: the pool starts above min, so an idle autoscaler
    // shrinks it one connection at a time (6 → 2: at least eight ticks, each of which could have grown it,
    // growAfterTicks being 1) while queries keep coming one at a time.
    pool = testPool({ min: 2, max: 6, autoscale: { intervalMs: 10, growAfterTicks: 1, shrinkAfterTicks: 2, shrinkStep: 1, initialSize: 6 } });
    const p = pool;
    expect(p.stats().size).toBe(6);
    let querying = true;
    const load = (async () => {
      while (querying) await p.query('SELECT 1');
    })();
    try {
      await waitFor(() => p.stats().size === 2, 'the idle pool shrunk to min');
    } finally {
      querying = false;
      await load;
    }
    const resizes = p.log.withMsg('database pool resized').map((e) => e.obj as { from: number; to: number });
    expect(resizes.map((r) => [r.from, r.to])).toEqual([[6, 5], [5, 4], [4, 3], [3, 2]]);
  });
});
