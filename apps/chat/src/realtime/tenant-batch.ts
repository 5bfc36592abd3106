/**
 * Per-user reads of connection setup, batched: every call made in the same
 * tick of the event loop is served by one statement per tenant (DataLoader,
 * no cache: blocked lists and memberships change). A reconnect storm (an
 * instance died, its thousands of clients come back at once) would otherwise
 * take a pooled PostgreSQL connection per socket for its blocked list and
 * another for the rooms its presence is announced in, and time out.
 */
import DataLoader from 'dataloader';
import { withTenant, type DbPool, type Queryable } from '@bulwark/db';

/** Largest batch: the ANY($1) array stays small. */
const MAX_BATCH = 1_000;

export type TenantBatch<V> = (tenant: string, key: string) => Promise<V>;

/** `readEach` answers several keys in one statement (a key it leaves out gets `missing`); it runs in the tenant's context. */
export function batchByTenant<V>(pool: DbPool, readEach: (db: Queryable, keys: readonly string[]) => Promise<Map<string, V>>, missing: V): TenantBatch<V> {
  const loaders = new Map<string, DataLoader<string, V>>();
  return (tenant, key) => {
    let loader = loaders.get(tenant);
    if (!loader) {
      loader = new DataLoader<string, V>(
        async (keys) => {
          const found = await withTenant(tenant, () => readEach(pool, keys));
          return keys.map((k) => found.get(k) ?? missing);
        },
        { cache: false, maxBatchSize: MAX_BATCH },
      );
      loaders.set(tenant, loader);
    }
    return loader.load(key);
  };
}
