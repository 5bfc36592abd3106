/**
 * Per-request DataLoaders: one batch function per relation, keys in, a map
 * out; a key the map lacks resolves to undefined (or [] for lists). Created
 * in each request's GraphQL context, never shared, so caching never crosses
 * callers or tenants.
 */
import DataLoader from 'dataloader';

/** A loader of one value per key from a batch query returning a Map. */
export function batchLoader<K, V>(load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>, options: { maxBatchSize?: number } = {}): DataLoader<K, V | undefined> {
  return new DataLoader<K, V | undefined>(async (keys) => {
    const found = await load(keys);
    return keys.map((k) => found.get(k));
  }, { maxBatchSize: options.maxBatchSize ?? 500 });
}

/**
 * The same relation without batching (one query per key): what the benchmark
 * compares the loaders with. Same interface, so resolvers do not change.
 */
export function unbatchedLoader<K, V>(load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>): DataLoader<K, V | undefined> {
  return new DataLoader<K, V | undefined>(async (keys) => Promise.all(keys.map(async (k) => (await load([k])).get(k))), { batch: false, cache: false });
}

export type { default as DataLoader } from 'dataloader';
