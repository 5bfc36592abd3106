/**
 * Builds the orders service without listening: the PostgreSQL pool, the
 * event-sourced command side, the read-model query side, the projectors and
 * the CDC relay (with its Kafka producer), all registered as kit dependencies
 * so shutdown stops them in reverse order: relay and projectors first, then
 * the producer, then the pool. `start()` migrates the schema, provisions the
 * topic, starts the workers and then listens.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { createPool, migrate, type DbPool } from '@bulwark/db';
import { connectAdmin, createKafka, createProducer, provisionTopics, type EventProducer } from '@bulwark/events';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { OrdersConfig } from './config.ts';
import { orderEventSchemas } from './domain/events.ts';
import { createOrderRepository } from './domain/order-repository.ts';
import { registerAdminRoutes } from './http/admin-routes.ts';
import { registerCommandRoutes } from './http/command-routes.ts';
import { registerQueryRoutes } from './http/query-routes.ts';
import { ensurePublication, ensureSlot } from './relay/replication-setup.ts';
import { createWorkers, type Workers } from './workers.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface OrdersAppOptions {
  config: OrdersConfig;
  logDestination?: DestinationStream;
  /** Test seam passed to the relay (see CdcRelayOptions.beforeAcknowledge). */
  beforeAcknowledge?: (lsn: string) => Promise<void>;
}

export interface OrdersApp {
  readonly service: Service<OrdersConfig>;
  readonly pool: DbPool;
  readonly workers: Workers;
  /** Migrations, topic, publication and slot; idempotent, safe from every replica. */
  prepare(): Promise<void>;
  /** prepare(), start the workers, listen. */
  start(): Promise<StartedService>;
}

const withDeadline = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);

export function createOrdersApp(options: OrdersAppOptions): OrdersApp {
  const { config } = options;
  let pool!: DbPool;
  let workers!: Workers;
  let producer: EventProducer | undefined;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (config.RELAY_ENABLED && brokers.length === 0) throw new Error('KAFKA_BROKERS is required when RELAY_ENABLED=true');
  const kafka = config.RELAY_ENABLED ? createKafka({ brokers, clientId: `orders-relay` }) : undefined;

  const service = createService({
    name: 'orders',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'orders', max: config.DB_POOL_MAX, searchPath: [config.ORDERS_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      if (kafka) {
        producer = createProducer({ kafka, schemas: orderEventSchemas, source: '/bulwark/orders', registry: kit.metrics, log: kit.log });
        const p = producer;
        // Kafka being away must not make the API unready: events wait in the WAL. Close is bounded for the same reason.
        kit.addDependency({ name: 'kafka-producer', check: async () => undefined, close: () => withDeadline(p.close(), 5_000).then(() => undefined) });
      }
      workers = createWorkers({
        pool,
        log: kit.log,
        registry: kit.metrics,
        projector: { enabled: config.PROJECTOR_ENABLED, batchSize: config.PROJECTOR_BATCH_SIZE, pollIntervalMs: config.PROJECTOR_POLL_MS },
        relay: producer && {
          connectionString: config.DATABASE_URL,
          schema: config.ORDERS_SCHEMA,
          slot: config.RELAY_SLOT,
          publication: config.RELAY_PUBLICATION,
          producer,
          topic: config.ORDERS_TOPIC,
          beforeAcknowledge: options.beforeAcknowledge,
        },
      });
      kit.addDependency({
        name: 'workers',
        async check() {
          if (config.PROJECTOR_ENABLED && workers.projectors.some((p) => !p.running)) throw new Error('a projector is not running');
        },
        close: () => workers.stop(),
      });
      registerCommandRoutes(r, createOrderRepository(pool, { snapshotEvery: config.SNAPSHOT_EVERY, log: kit.log }));
      registerQueryRoutes(r, pool);
      registerAdminRoutes(r, workers);
    },
  });

  async function prepare(): Promise<void> {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${config.ORDERS_SCHEMA}"`);
    await migrate({ pool, dir: MIGRATIONS_DIR, schema: config.ORDERS_SCHEMA, phase: 'all' });
    if (kafka) {
      const admin = await connectAdmin(kafka);
      try {
        await provisionTopics(admin, [{ name: config.ORDERS_TOPIC, partitions: config.ORDERS_TOPIC_PARTITIONS, retentionMs: 7 * 86_400_000 }]);
      } finally {
        await admin.disconnect();
      }
      await ensurePublication(pool, config.RELAY_PUBLICATION, config.ORDERS_SCHEMA);
      await ensureSlot(pool, config.RELAY_SLOT);
    }
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get workers() {
      return workers;
    },
    prepare,
    async start() {
      await prepare();
      workers.start();
      return service.start();
    },
  };
}
