/**
 * The two tiers against the shared Redis: cache-aside fills once and answers
 * from L1 then L2, write-through replaces the value on every instance, and
 * the hit/miss series count per tier.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { registryValue, waitFor } from '@bulwark/test-support';
import { cacheBed } from './support.ts';

const bed = cacheBed('core');
const { newCache } = bed;

afterAll(() => bed.close());

describe('cache-aside', () => {
  it('when a key is read three times, then the origin is called once and the later reads are L1 hits', async () => {
    const cache = await newCache();
    let calls = 0;
    const load = async (): Promise<{ id: string }> => ({ id: `p-${++calls}` });
    expect(await cache.get('product:1', load)).toEqual({ id: 'p-1' });
    expect(await cache.get('product:1', load)).toEqual({ id: 'p-1' });
    expect(await cache.get('product:1', load)).toEqual({ id: 'p-1' });
    expect(calls).toBe(1);
    expect(await registryValue(cache.registry, 'cache_hits_total', { cache: 'core', tier: 'l1' })).toBe(2);
    expect(await registryValue(cache.registry, 'cache_misses_total', { cache: 'core', tier: 'l2' })).toBe(1);
  });

  it('when another instance filled the key, then this one answers from L2 without calling the origin', async () => {
    const a = await newCache();
    const b = await newCache();
    await a.get('product:2', async () => 'from-a');
    expect(await b.get('product:2', async () => 'from-b')).toBe('from-a');
    expect(await registryValue(b.registry, 'cache_hits_total', { cache: 'core', tier: 'l2' })).toBe(1);
  });

  it('when an entry outlives its TTL and has no stale window, then the origin is called again', async () => {
    const cache = await newCache({ ttlMs: 30, jitter: 0, earlyRefreshBeta: 0 });
    let calls = 0;
    await cache.get('short', async () => ++calls);
    await waitFor(async () => (await cache.get('short', async () => ++calls)) === 2, 'the expired entry to be filled again');
    expect(calls).toBe(2);
  });
});

describe('write-through', () => {
  it('when one instance writes a key through, then the others drop their L1 copy and read the new value', async () => {
    const a = await newCache();
    const b = await newCache();
    await b.get('product:3', async () => ({ price: 1 }));
    expect(b.hasLocal('product:3')).toBe(true);
    await a.writeThrough('product:3', async () => ({ price: 2 }));
    await waitFor(() => !b.hasLocal('product:3'), 'b to drop its L1 copy');
    expect(await b.get('product:3', async () => ({ price: 99 }))).toEqual({ price: 2 });
  });
});

describe('tags', () => {
  it('when a tag is invalidated, then every instance loses the tagged entries and keeps the others', async () => {
    const a = await newCache();
    const b = await newCache();
    await a.get('tagged:1', async () => 1, { tags: ['category:shoes'] });
    await b.get('tagged:1', async () => 0);
    await b.get('tagged:2', async () => 2, { tags: ['category:hats'] });
    expect(b.hasLocal('tagged:1')).toBe(true);
    await a.invalidateTags('category:shoes');
    await waitFor(() => !b.hasLocal('tagged:1'), 'b to drop the tagged entry');
    expect(b.hasLocal('tagged:2')).toBe(true);
    expect(await b.get('tagged:1', async () => 'reloaded')).toBe('reloaded');
    expect(await registryValue(b.registry, 'cache_invalidations_total', { cache: 'core', kind: 'tag', source: 'remote' })).toBe(1);
  });
});
