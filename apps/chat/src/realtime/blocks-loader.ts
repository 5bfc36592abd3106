/**
 * The blocked lists of opening connections, batched: every connection that
 * opens in the same tick of the event loop is served by one statement per
 * tenant (DataLoader, no cache: a list changes, and the user's channel
 * brings the new one). A reconnect storm (an instance died, its thousands of
 * clients come back at once) would otherwise take a pooled PostgreSQL
 * connection per socket and time out.
 */
import DataLoader from 'dataloader';
import { withTenant, type DbPool } from '@bulwark/db';
import { blockedByEach } from '../store/chat-store.ts';

/** Largest batch: the ANY($1) array stays small. */
const MAX_BATCH = 1_000;

export type BlocksLoader = (tenant: string, user: string) => Promise<string[]>;

export function createBlocksLoader(pool: DbPool): BlocksLoader {
  const loaders = new Map<string, DataLoader<string, string[]>>();
  return (tenant, user) => {
    let loader = loaders.get(tenant);
    if (!loader) {
      loader = new DataLoader<string, string[]>(
        async (users) => {
          const lists = await withTenant(tenant, () => blockedByEach(pool, users));
          return users.map((u) => lists.get(u) ?? []);
        },
        { cache: false, maxBatchSize: MAX_BATCH },
      );
      loaders.set(tenant, loader);
    }
    return loader.load(user);
  };
}
