/**
 * KEK rotation's second half: every data key still wrapped by an older KEK
 * is unwrapped and wrapped again by the active one, in batches (one
 * transaction each, SKIP LOCKED so replicas share the work), in the audited
 * system context because it spans tenants. Values are never decrypted.
 */
import { withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import { claimStaleKeys, keysByKek, storeRewrapped } from '../store/secret-store.ts';
import { rewrapKey, type KeyRing } from './envelope.ts';

/** Re-wraps until nothing is left under an old KEK; returns how many keys it re-wrapped. */
export async function rewrapStaleKeys(pool: DbPool, ring: KeyRing, batch: number): Promise<number> {
  return withSystemContext(pool, 'secrets.kek-rewrap', async () => {
    let total = 0;
    for (;;) {
      const n = await withTransaction(pool, async (tx) => {
        const rows = await claimStaleKeys(tx, ring.active, batch);
        await storeRewrapped(tx, rows.map((r) => ({ ...r, ...rewrapKey(ring, { tenant: r.tenantId, name: r.name, version: r.version }, r.wrappedKey, r.kekVersion) })));
        return rows.length;
      });
      total += n;
      if (n < batch) return total;
    }
  });
}

/** Data keys not yet under the active KEK (all tenants). */
export async function staleKeyCount(pool: DbPool, ring: KeyRing): Promise<number> {
  const counts = await withSystemContext(pool, 'secrets.kek-gauge', () => keysByKek(pool));
  return [...counts].filter(([kek]) => kek !== ring.active).reduce((n, [, c]) => n + c, 0);
}
