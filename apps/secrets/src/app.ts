/**
 * Builds the secrets service without listening: the PostgreSQL pools
 * (runtime role for requests, owner for migrations), the KEK ring, the
 * token verifier for service callers, the outbox relay of audit events when
 * KAFKA_BROKERS is set, and the routes. `prepare()` migrates, grants the
 * runtime role the data (the reporting role nothing), provisions the topic
 * and re-wraps data keys still under an older KEK.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { assertRuntimeRole, createPool, fileCredentials, gatewayTenantScope, grantSchemaAccess, migrate, withSystemContext, type DbPool } from '@bulwark/db';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createTokenVerifier } from '@bulwark/service-kit/service-auth';
import type { SecretsConfig } from './config.ts';
import type { KeyRing } from './domain/envelope.ts';
import { loadKeyRing } from './domain/key-ring-file.ts';
import { rewrapStaleKeys, staleKeyCount } from './domain/rewrap.ts';
import './errors.ts';
import { createSecretsKafka, type SecretsKafka } from './events/secrets-kafka.ts';
import { registerSecretsRoutes } from './http/routes.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface SecretsAppOptions {
  config: SecretsConfig;
  logDestination?: DestinationStream;
}

export interface SecretsApp {
  readonly service: Service<SecretsConfig>;
  readonly pool: DbPool;
  readonly ring: KeyRing;
  readonly events: SecretsKafka | undefined;
  /** Re-wraps every data key not under the active KEK; returns how many. */
  rewrap(): Promise<number>;
  prepare(): Promise<void>;
  start(): Promise<StartedService>;
}

export function createSecretsApp(options: SecretsAppOptions): SecretsApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let events: SecretsKafka | undefined;
  let rewrapped!: Counter;
  let stale!: Gauge;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  const ring = loadKeyRing({ json: config.SECRETS_KEK_JSON, file: config.SECRETS_KEK_FILE, create: config.SECRETS_KEK_CREATE });

  const service = createService({
    name: 'secrets',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    redactPaths: ['SECRETS_KEK_JSON', '*.SECRETS_KEK_JSON', 'value', '*.value', 'req.headers.authorization'],
    // Every route runs as the tenant named in x-auth-tenant (the gateway's, or a calling service's).
    ...gatewayTenantScope,
    routes(r, kit) {
      const credentials = config.DATABASE_CREDENTIALS_FILE ? { credentials: fileCredentials(config.DATABASE_CREDENTIALS_FILE) } : {};
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'secrets', max: config.DB_POOL_MAX, searchPath: [config.SECRETS_SCHEMA], registry: kit.metrics, log: kit.log, ...credentials });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'secrets-owner', max: 1, statementTimeoutMs: 0, searchPath: [config.SECRETS_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      rewrapped = new Counter({ name: 'secrets_data_keys_rewrapped_total', help: 'Data keys re-wrapped under the active KEK after a rotation.', registers: [kit.metrics] });
      stale = new Gauge({ name: 'secrets_data_keys_stale', help: 'Data keys still wrapped by a KEK version other than the active one (after the start-up re-wrap: should be 0).', registers: [kit.metrics] });
      new Gauge({ name: 'secrets_kek_active_version', help: 'The active key-encryption key version.', registers: [kit.metrics] }).set(ring.active);
      const unpublished = new Gauge({
        name: 'secrets_outbox_unpublished',
        help: 'Audit events of secrets not yet published to Kafka.',
        registers: [kit.metrics],
        collect: async () => {
          const { rows } = await withSystemContext(pool, 'secrets.outbox-gauge', () => pool.query<{ n: number }>({ name: 'secrets.outbox-unpublished', text: 'SELECT count(*)::int AS n FROM secrets_events_outbox WHERE published_at IS NULL' }));
          unpublished.set(rows[0]!.n);
        },
      });
      if (brokers.length > 0) {
        const kafka = createSecretsKafka({ config, brokers, pool, registry: kit.metrics, log: kit.log });
        events = kafka;
        kit.addDependency({ name: 'kafka', check: async () => undefined, close: () => kafka.close() });
      } else kit.log.warn('KAFKA_BROKERS is not set: audit events of secret reads wait in the outbox');
      const verifier = createTokenVerifier({ jwksUrl: config.JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
      registerSecretsRoutes(r, { pool, ring, maxValueBytes: config.SECRETS_MAX_VALUE_BYTES }, verifier);
    },
  });

  async function rewrap(): Promise<number> {
    const n = await rewrapStaleKeys(pool, ring, config.SECRETS_REWRAP_BATCH);
    rewrapped.inc(n);
    stale.set(await staleKeyCount(pool, ring));
    return n;
  }

  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.SECRETS_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    // No reporting role: secret material is never in reports.
    await grantSchemaAccess({ pool: ownerPool, schema: config.SECRETS_SCHEMA, runtimeRole: config.DATABASE_GRANT_ROLE ?? runtimeRole });
    await events?.prepare();
    events?.start();
    const n = await rewrap();
    if (n > 0) service.log.info({ rewrapped: n, kekVersion: ring.active }, 'data keys re-wrapped under the active KEK');
  }

  return {
    service,
    get pool() {
      return pool;
    },
    ring,
    get events() {
      return events;
    },
    rewrap,
    prepare,
    async start() {
      return service.start({ prepare });
    },
  };
}
