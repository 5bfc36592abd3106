/**
 * The signing key ring of this replica: reads the keys from PostgreSQL,
 * keeps the schedule (key-schedule.ts) by creating and removing keys under
 * the ring's advisory lock, and serves the JWKS and the current signing key.
 *
 * Times are the database's: each read takes `now()` with the keys and keeps
 * the offset to the local clock, so replicas with skewed clocks still switch
 * keys at the same moment. A replica that could not read the ring for
 * longer than the publish-ahead time stops signing (503) rather than sign
 * with a key that may already be retired elsewhere.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit';
import { identityError } from '../errors.ts';
import { deleteKeys, insertKey, listKeys, lockKeyRing, type StoredKey } from '../store/signing-keys-store.ts';
import type { Sealer } from './key-sealing.ts';
import { currentKey, planKeyRing, publishedKeys, type KeySchedule } from './key-schedule.ts';

export const SIGNING_ALG = 'ES256';

export interface KeyRingOptions {
  pool: DbPool;
  sealer: Sealer;
  schedule: KeySchedule;
  log: Logger;
  onRotation?: (event: 'created' | 'removed', kid: string) => void;
}

export interface SigningKey {
  kid: string;
  alg: string;
  key: CryptoKey;
}

interface PublishedSet {
  keys: JSONWebKeySet;
  /** The second (database clock) it was computed for. */
  at: number;
  verifier: ReturnType<typeof createLocalJWKSet>;
}

interface RingKey {
  kid: string;
  activatesAt: number;
  stored: StoredKey;
}

export class KeyRing {
  readonly #options: KeyRingOptions;
  #keys: RingKey[] = [];
  /** Database clock minus local clock at the last read, ms. */
  #offsetMs = 0;
  /** Local time of the last successful read; 0 before the first. */
  #loadedAt = 0;
  readonly #privateKeys = new Map<string, Promise<CryptoKey>>();
  #jwks: PublishedSet | undefined;

  constructor(options: KeyRingOptions) {
    this.#options = options;
  }

  /** The database's clock, estimated from the last read. */
  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Whether the last successful read is recent enough to sign. */
  /** Seconds since the last successful read (Infinity before the first). */
  get ageSeconds(): number {
    return this.#loadedAt === 0 ? Infinity : (Date.now() - this.#loadedAt) / 1000;
  }

  get fresh(): boolean {
    return this.#loadedAt > 0 && Date.now() - this.#loadedAt < this.#options.schedule.publishAheadMs;
  }

  /** One maintenance pass under the advisory lock (create/remove as due), then a read. */
  async refresh(): Promise<void> {
    await withTransaction(this.#options.pool, async (tx) => {
      await lockKeyRing(tx);
      const { keys, now } = await listKeys(tx);
      const plan = planKeyRing(keys.map((k) => ({ kid: k.kid, activatesAt: k.activatesAt.getTime() })), now.getTime(), this.#options.schedule);
      if (plan.create !== undefined) {
        const kid = await this.#createKey(tx, new Date(plan.create));
        this.#options.log.info({ kid, activatesAt: new Date(plan.create).toISOString() }, 'signing key created');
        this.#options.onRotation?.('created', kid);
      }
      if (plan.remove.length > 0) {
        await deleteKeys(tx, plan.remove);
        for (const kid of plan.remove) {
          this.#options.log.info({ kid }, 'signing key removed: its last token has expired');
          this.#options.onRotation?.('removed', kid);
        }
      }
    });
    await this.load();
  }

  /** Reads the ring without changing it. */
  async load(): Promise<void> {
    const before = Date.now();
    const { keys, now } = await listKeys(this.#options.pool);
    const after = Date.now();
    this.#offsetMs = now.getTime() - (before + after) / 2;
    this.#keys = keys.map((k) => ({ kid: k.kid, activatesAt: k.activatesAt.getTime(), stored: k }));
    this.#loadedAt = after;
    for (const kid of this.#privateKeys.keys()) if (!keys.some((k) => k.kid === kid)) this.#privateKeys.delete(kid);
    this.#jwks = undefined;
  }

  /** The public keys to publish now (superseded keys until their last token expired, the next key ahead of its activation). */
  jwks(): JSONWebKeySet {
    return this.#published().keys;
  }

  /** Verifies the service's own tokens against what it publishes. */
  verifier(): ReturnType<typeof createLocalJWKSet> {
    return this.#published().verifier;
  }

  /** The key that signs now; 503 when the ring is stale or has no usable current key. */
  async signingKey(): Promise<SigningKey> {
    if (!this.fresh) throw identityError('IDENTITY_SIGNING_KEY_UNAVAILABLE', 'the key ring has not been read recently', { retryAfterSeconds: 1 });
    const current = currentKey(this.#keys, this.now());
    if (!current) throw identityError('IDENTITY_SIGNING_KEY_UNAVAILABLE', 'no signing key is active yet', { retryAfterSeconds: 1 });
    let key = this.#privateKeys.get(current.kid);
    if (!key) {
      key = this.#openKey(current.stored);
      this.#privateKeys.set(current.kid, key);
      key.catch(() => this.#privateKeys.delete(current.kid));
    }
    return { kid: current.kid, alg: current.stored.alg, key: await key };
  }

  /**
   * Identifies the set the OIDC provider signs and verifies with: the
   * current key and every published key. It changes at a rotation, so the
   * provider is rebuilt from `providerJwks()` exactly then.
   */
  providerKeysVersion(): string {
    const current = currentKey(this.#keys, this.now())?.kid ?? '-';
    return `${current}|${publishedKeys(this.#keys, this.now(), this.#options.schedule).map((k) => k.kid).join(',')}`;
  }

  /**
   * Private JWKs of the published keys for the OIDC provider (one key story:
   * its ID tokens and JWT access tokens are signed by the ring's current key
   * and verify against /.well-known/jwks.json). The current key comes first;
   * the others carry `key_ops: ["verify"]`, so the provider never signs with
   * a key that is not active. 503 when no key is current.
   */
  async providerJwks(): Promise<JWK[]> {
    const current = await this.signingKey();
    const published = publishedKeys(this.#keys, this.now(), this.#options.schedule);
    const ordered = [...published.filter((k) => k.kid === current.kid), ...published.filter((k) => k.kid !== current.kid)];
    return ordered.map((k) => {
      if (k.stored.sealedWith !== this.#options.sealer.fingerprint) throw identityError('IDENTITY_SIGNING_KEY_UNAVAILABLE', `signing key ${k.kid} is sealed with another KEY_ENCRYPTION_KEY`, { retryAfterSeconds: 30 });
      const jwk = JSON.parse(this.#options.sealer.open(k.stored.privateJwkSealed, k.kid)) as JWK;
      return { ...jwk, kid: k.kid, alg: k.stored.alg, use: 'sig', ...(k.kid === current.kid ? {} : { key_ops: ['verify'] }) };
    });
  }

  #published(): PublishedSet {
    const at = Math.floor(this.now() / 1000);
    if (this.#jwks && this.#jwks.at === at) return this.#jwks;
    const keys: JSONWebKeySet = { keys: publishedKeys(this.#keys, this.now(), this.#options.schedule).map((k) => ({ ...(k.stored.publicJwk as JWK), kid: k.kid, alg: k.stored.alg, use: 'sig' })) };
    this.#jwks = { keys, at, verifier: createLocalJWKSet(keys) };
    return this.#jwks;
  }

  async #openKey(stored: StoredKey): Promise<CryptoKey> {
    if (stored.sealedWith !== this.#options.sealer.fingerprint) {
      throw identityError('IDENTITY_SIGNING_KEY_UNAVAILABLE', `signing key ${stored.kid} is sealed with another KEY_ENCRYPTION_KEY (${stored.sealedWith})`, { retryAfterSeconds: 30 });
    }
    const jwk = JSON.parse(this.#options.sealer.open(stored.privateJwkSealed, stored.kid)) as JWK;
    return (await importJWK(jwk, stored.alg)) as CryptoKey;
  }

  async #createKey(tx: Parameters<typeof insertKey>[0], activatesAt: Date): Promise<string> {
    const kid = randomUUID();
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const privateJwk = await exportJWK(privateKey);
    await insertKey(tx, {
      kid,
      alg: SIGNING_ALG,
      publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y },
      privateJwkSealed: this.#options.sealer.seal(JSON.stringify(privateJwk), kid),
      sealedWith: this.#options.sealer.fingerprint,
      activatesAt,
    });
    return kid;
  }
}
