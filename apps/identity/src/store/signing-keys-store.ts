/**
 * SQL of the signing key ring. Every statement that adds or removes keys
 * runs in a transaction holding the ring's advisory lock (lockKeyRing), so
 * replicas maintain the ring one at a time.
 */
import type { Queryable } from '@bulwark/db';

export interface StoredKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateJwkSealed: Buffer;
  sealedWith: string;
  activatesAt: Date;
  createdAt: Date;
}

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: Record<string, unknown>;
  private_jwk_sealed: Buffer;
  sealed_with: string;
  activates_at: Date;
  created_at: Date;
}

const toKey = (r: KeyRow): StoredKey => ({ kid: r.kid, alg: r.alg, publicJwk: r.public_jwk, privateJwkSealed: r.private_jwk_sealed, sealedWith: r.sealed_with, activatesAt: r.activates_at, createdAt: r.created_at });

/** Transaction-scoped advisory lock of the ring (released at COMMIT/ROLLBACK). */
export async function lockKeyRing(tx: Queryable): Promise<void> {
  await tx.query({ name: 'identity.lock_key_ring', text: `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.signing_keys'))` });
}

/**
 * Every key, oldest activation first, with the database's clock at the read:
 * clock_timestamp(), not now(). now() is the transaction's start, and a
 * replica that waited on the ring's lock would judge the keys another
 * replica just added by a time before they existed (and add its own).
 */
export async function listKeys(db: Queryable): Promise<{ keys: StoredKey[]; now: Date }> {
  const { rows } = await db.query<KeyRow & { now: Date }>({
    name: 'identity.list_keys',
    text: 'SELECT kid, alg, public_jwk, private_jwk_sealed, sealed_with, activates_at, created_at, clock_timestamp() AS now FROM signing_keys ORDER BY activates_at',
  });
  const now = rows[0]?.now ?? (await db.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
  return { keys: rows.map(toKey), now };
}

export async function insertKey(tx: Queryable, k: Omit<StoredKey, 'createdAt'>): Promise<void> {
  await tx.query({
    name: 'identity.insert_key',
    text: 'INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk_sealed, sealed_with, activates_at) VALUES ($1, $2, $3, $4, $5, $6)',
    values: [k.kid, k.alg, JSON.stringify(k.publicJwk), k.privateJwkSealed, k.sealedWith, k.activatesAt],
  });
}

export async function deleteKeys(tx: Queryable, kids: readonly string[]): Promise<void> {
  if (kids.length === 0) return;
  await tx.query({ name: 'identity.delete_keys', text: 'DELETE FROM signing_keys WHERE kid = ANY($1::text[])', values: [kids] });
}
