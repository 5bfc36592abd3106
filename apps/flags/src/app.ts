/**
 * Builds the flags service without listening: the PostgreSQL pools (runtime
 * role for requests, owner for migrations), the snapshot hub that keeps SSE
 * streams current, the scheduler of timed changes, the outbox relay to Kafka
 * when KAFKA_BROKERS is set, and the routes. Shutdown ends the snapshot
 * streams at drain (providers reconnect elsewhere), then closes the
 * scheduler, the relay and the pools.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, type DbPool } from '@bulwark/db';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { FlagsConfig } from './config.ts';
import './errors.ts';
import { applyDueChanges } from './domain/schedule.ts';
import { SnapshotHub } from './domain/snapshot-hub.ts';
import { createFlagsKafka, type FlagsKafka } from './events/flags-kafka.ts';
import { registerExperimentRoutes } from './http/experiment-routes.ts';
import { registerFlagRoutes } from './http/flag-routes.ts';
import { registerOfrepRoutes } from './http/ofrep-routes.ts';
import { registerSnapshotRoutes } from './http/snapshot-routes.ts';
import { createFlagsMetrics } from './metrics.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface FlagsAppOptions {
  config: FlagsConfig;
  logDestination?: DestinationStream;
}

export interface FlagsApp {
  readonly service: Service<FlagsConfig>;
  readonly pool: DbPool;
  readonly hub: SnapshotHub;
  readonly events: FlagsKafka | undefined;
  /** Schema, migrations, grants, topics; idempotent. */
  prepare(): Promise<void>;
  /** prepare(), then listen. */
  start(): Promise<StartedService>;
}

export function createFlagsApp(options: FlagsAppOptions): FlagsApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let hub!: SnapshotHub;
  let events: FlagsKafka | undefined;
  let scheduler: NodeJS.Timeout | undefined;
  let startScheduler!: () => void;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];

  const service = createService({
    name: 'flags',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // Every route runs as the tenant named in x-auth-tenant (the gateway's, or a calling service's); none: FLAGS_TENANT_REQUIRED.
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'flags', max: config.DB_POOL_MAX, searchPath: [config.FLAGS_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'flags-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.FLAGS_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      const metrics = createFlagsMetrics(kit.metrics);
      hub = new SnapshotHub({ pool, pollMs: config.CHANGE_POLL_MS, log: kit.log, metrics });
      const deps = { pool, hub, metrics };
      if (brokers.length > 0) {
        const kafka = createFlagsKafka({ config, brokers, pool, registry: kit.metrics, log: kit.log });
        events = kafka;
        kit.addDependency({ name: 'kafka', check: async () => undefined, close: () => kafka.close() });
      } else kit.log.warn('KAFKA_BROKERS is not set: flag changes and exposures wait in the outbox');
      let round: Promise<unknown> = Promise.resolve();
      startScheduler = () => {
        scheduler = setInterval(() => {
          round = applyDueChanges(deps, kit.log).catch((err: unknown) => kit.log.warn({ err }, 'scheduler round failed'));
        }, config.SCHEDULER_INTERVAL_MS);
        scheduler.unref();
      };
      kit.addDependency({
        name: 'scheduler',
        check: async () => undefined,
        async close() {
          clearInterval(scheduler);
          hub.close();
          await round;
        },
      });
      registerFlagRoutes(r, deps);
      const snapshotDeps = { ...deps, defaultEnvironment: config.DEFAULT_ENVIRONMENT, heartbeatMs: config.SSE_HEARTBEAT_MS };
      registerSnapshotRoutes(r, snapshotDeps);
      if (config.OFREP_ENABLED) registerOfrepRoutes(r, snapshotDeps);
      registerExperimentRoutes(r, { ...deps, minSamplePerVariant: config.MIN_SAMPLE_PER_VARIANT });
    },
  });
  // Streams never end by themselves: end them when the drain begins, or they hold the listener's close until the deadline.
  service.onDrain(() => hub.endAll());

  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.FLAGS_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.FLAGS_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    await events?.prepare();
    events?.start();
    startScheduler();
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get hub() {
      return hub;
    },
    get events() {
      return events;
    },
    prepare,
    async start() {
      await prepare();
      return service.start();
    },
  };
}
