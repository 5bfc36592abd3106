/**
 * Builds the collaborative documents service without listening: the
 * PostgreSQL pools (runtime role under RLS, owner for migrations), the Redis
 * bus between instances, the rooms, the REST routes and, in prepare(), the
 * y-websocket endpoint on the kit's HTTP server (drained on SIGTERM: sockets
 * closed 1012 after queued updates are stored).
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, type DbPool } from '@bulwark/db';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createTokenVerifier } from '@bulwark/service-kit/service-auth';
import type { CollabConfig } from './config.ts';
import './errors.ts';
import { registerRoutes } from './http/routes.ts';
import { createRedisBus, LOCAL_BUS, type Bus } from './ws/bus.ts';
import { createCollabMetrics, type CollabMetrics } from './ws/metrics.ts';
import { createRooms, type Rooms } from './ws/rooms.ts';
import { attachCollabSockets } from './ws/server.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface CollabAppOptions {
  config: CollabConfig;
  logDestination?: DestinationStream;
}

export interface CollabApp {
  readonly service: Service<CollabConfig>;
  readonly pool: DbPool;
  /** Schema, migrations, grants, then the WebSocket endpoint; idempotent. */
  prepare(): Promise<void>;
  start(): Promise<StartedService>;
}

export function createCollabApp(options: CollabAppOptions): CollabApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let rooms!: Rooms;
  let metrics!: CollabMetrics;
  let bus: Bus = LOCAL_BUS;
  let prepared = false;

  const service = createService({
    name: 'collab',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'collab', max: config.DB_POOL_MAX, searchPath: [config.COLLAB_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'collab-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.COLLAB_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      metrics = createCollabMetrics(kit.metrics);
      rooms = createRooms({ pool, bus: () => bus, metrics, log: kit.log, compactAfterUpdates: config.COMPACT_AFTER_UPDATES, storeConcurrency: config.STORE_CONCURRENCY, unloadAfterMs: config.DOC_UNLOAD_AFTER_MS, resyncMs: config.RESYNC_INTERVAL_MS });
      if (config.REDIS_URL) {
        const redisBus = createRedisBus({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX, log: kit.log, onReconnect: () => rooms.reloadAll() });
        bus = redisBus;
        // Redis away: clients of one instance still edit together and everything is stored; peers catch up when it returns.
        kit.addDependency({ name: 'redis-bus', check: async () => undefined, close: () => redisBus.close() });
      } else kit.log.warn('REDIS_URL is not set: clients of other instances do not see this instance\'s edits live');
      registerRoutes(r, { pool });
    },
  });

  async function prepare(): Promise<void> {
    if (prepared) return;
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.COLLAB_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.COLLAB_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    if (service.server) {
      const verifier = createTokenVerifier({ jwksUrl: config.JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, typ: undefined });
      service.onDrain(attachCollabSockets(service.server, { pool, rooms, verifier, metrics, log: service.log, maxMessageBytes: config.WS_MAX_MESSAGE_BYTES, pingIntervalMs: config.WS_PING_INTERVAL_MS }));
    }
    prepared = true;
  }

  return {
    service,
    get pool() {
      return pool;
    },
    prepare,
    start: () => service.start({ prepare }),
  };
}
