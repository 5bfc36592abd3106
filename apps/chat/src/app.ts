/**
 * Builds the chat service without listening: the PostgreSQL pools (runtime
 * role for requests and connections, owner for migrations), Redis (fan-out
 * and presence), the REST routes, all registered as kit dependencies so
 * shutdown closes connections, then Redis, then the pools. `start()`
 * listens, migrates and attaches the WebSocket endpoint (GET /v1/chat/ws).
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, type DbPool } from '@bulwark/db';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createTokenVerifier } from '@bulwark/service-kit/service-auth';
import type { ChatConfig } from './config.ts';
import './errors.ts';
import { registerRoutes } from './http/routes.ts';
import { createChatMetrics, type ChatMetrics } from './metrics.ts';
import { createPresence, type Presence } from './realtime/presence.ts';
import { attachRealtime } from './realtime/realtime.ts';
import { createRoomBus, type RoomBus } from './realtime/room-bus.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface ChatAppOptions {
  config: ChatConfig;
  logDestination?: DestinationStream;
}

export interface ChatApp {
  readonly service: Service<ChatConfig>;
  readonly pool: DbPool;
  readonly presence: Presence;
  /** Schema, migrations, grants, then the WebSocket endpoint on the listening server; idempotent. */
  prepare(): Promise<void>;
  /** Listens, then prepare(). */
  start(): Promise<StartedService>;
}

export function createChatApp(options: ChatAppOptions): ChatApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let redis!: Redis;
  let bus!: RoomBus;
  let presence!: Presence;
  let metrics!: ChatMetrics;
  let prepared = false;
  const verifier = createTokenVerifier({ jwksUrl: config.JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });

  const service = createService({
    name: 'chat',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // REST routes run as the tenant the gateway names in x-auth-tenant; WebSocket frames as the token's tenant.
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'chat', max: config.DB_POOL_MAX, searchPath: [config.CHAT_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'chat-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.CHAT_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      metrics = createChatMetrics(kit.metrics);
      redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 50, 500) });
      bus = createRoomBus({ redis, prefix: config.CHAT_REDIS_PREFIX, metrics, log: kit.log });
      presence = createPresence({ redis, prefix: config.CHAT_REDIS_PREFIX, ttlMs: config.PRESENCE_TTL_MS, heartbeatMs: config.PRESENCE_HEARTBEAT_MS, pool, publish: bus, metrics, log: kit.log });
      kit.addDependency({
        name: 'redis',
        // Without Redis, messages still commit but reach only resuming clients: not ready, so new connections go elsewhere.
        check: async () => {
          if (redis.status !== 'ready') throw new Error(`redis ${redis.status}`);
        },
        async close() {
          presence.close();
          await bus.close();
          redis.disconnect();
        },
      });
      registerRoutes(r, { pool, publish: bus, presence, historyPageMax: config.HISTORY_PAGE_MAX });
    },
  });

  async function prepare(): Promise<void> {
    if (prepared) return;
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.CHAT_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.CHAT_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    if (service.server) service.onDrain(attachRealtime(service.server, { config, pool, bus, presence, verifier, metrics, log: service.log }));
    prepared = true;
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get presence() {
      return presence;
    },
    prepare,
    start: () => service.start({ prepare }),
  };
}
