/**
 * oidc-provider's storage adapter on identity's PostgreSQL: every model
 * (Session, Interaction, Grant, AuthorizationCode, AccessToken,
 * RefreshToken, ClientCredentials, …) in one table, so replicas share the
 * provider's state and a restart loses nothing. Static clients come from
 * configuration and never reach the adapter.
 */
import type { DbPool } from '@bulwark/db';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { consumePayload, destroyPayload, findPayload, findPayloadByUid, findPayloadByUserCode, revokeGrant, upsertPayload, type OidcRow } from '../store/oidc-store.ts';

const toPayload = (row: OidcRow | undefined): AdapterPayload | undefined => (row ? { ...(row.payload as AdapterPayload), ...(row.consumedAt ? { consumed: Math.floor(row.consumedAt.getTime() / 1000) } : {}) } : undefined);

/** The adapter class oidc-provider instantiates once per model name. */
export function postgresAdapter(pool: DbPool): new (model: string) => Adapter {
  return class PostgresOidcAdapter implements Adapter {
    readonly #model: string;

    constructor(model: string) {
      this.#model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await upsertPayload(pool, { model: this.#model, id, payload: payload as Record<string, unknown>, expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? Math.ceil(expiresIn) : undefined });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return toPayload(await findPayload(pool, this.#model, id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return toPayload(await findPayloadByUid(pool, this.#model, uid));
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return toPayload(await findPayloadByUserCode(pool, this.#model, userCode));
    }

    async consume(id: string): Promise<void> {
      await consumePayload(pool, this.#model, id);
    }

    async destroy(id: string): Promise<void> {
      await destroyPayload(pool, this.#model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await revokeGrant(pool, grantId);
    }
  };
}
