/**
 * Catalog on Kafka: the outbox relay publishing catalog's events to
 * CATALOG_TOPIC and the consumer (group EVENTS_GROUP) of orders' events, which
 * keeps `order_facts`, and, with INVENTORY_URL, of inventory's events, which
 * keep the stock search shows (events/inventory-events.ts). Both start after the migrations and stop before the
 * pools close; Kafka being away never makes the API unready (events wait in
 * the outbox, orders' events in their topic).
 */
import type { Registry } from 'prom-client';
import { withSystemContext, type DbPool } from '@bulwark/db';
import { createConsumer, createEventRegistry, createKafka, createOutboxRelay, createProducer, ensureTopics, migrateProcessedEventStore, type EventConsumer, type OutboxRelay } from '@bulwark/events';
import type { Logger } from '@bulwark/service-kit/logging';
import type { CatalogConfig } from '../config.ts';
import { CATALOG_EVENTS, catalogEventSchemas } from './catalog-events.ts';
import { createStockReader } from '../domain/cart-services.ts';
import { INVENTORY_EVENTS, inventoryEventHandlers, type InventoryEventHooks } from './inventory-events.ts';
import { ORDER_EVENTS, orderEventHandlers, type OrderEventHooks } from './order-events.ts';

const FAST = { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 5_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100, lagIntervalMs: 0 } as const;

export interface CatalogKafka {
  /** The processed-event store and the topics (as the tables' owner). */
  prepare(ownerPool: DbPool): Promise<void>;
  /** Starts the relay (system context) and joins the consumer group. */
  start(): Promise<void>;
  readonly relay: OutboxRelay;
  readonly consumer: EventConsumer;
  close(): Promise<void>;
}

export function createCatalogKafka(options: { config: CatalogConfig; brokers: string[]; pool: DbPool; registry: Registry; log: Logger; hooks?: OrderEventHooks & InventoryEventHooks }): CatalogKafka {
  const { config, pool, registry, log } = options;
  const kafka = createKafka({ brokers: options.brokers, clientId: 'catalog' });
  const producer = createProducer({ kafka, schemas: catalogEventSchemas, source: '/bulwark/catalog', registry, log });
  const relay = createOutboxRelay({ pool, producer, topic: config.CATALOG_TOPIC, table: 'catalog_events_outbox', keyColumn: 'aggregate_id', events: CATALOG_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log });
  const stock = config.INVENTORY_URL ? createStockReader({ inventoryUrl: config.INVENTORY_URL, timeoutMs: config.CART_CALL_TIMEOUT_MS, registry, log }) : undefined;
  const consumer = createConsumer({
    kafka,
    group: config.EVENTS_GROUP,
    topics: stock ? [config.ORDERS_EVENTS_TOPIC, config.INVENTORY_EVENTS_TOPIC] : [config.ORDERS_EVENTS_TOPIC],
    schemas: createEventRegistry([...Object.values(ORDER_EVENTS), ...(stock ? Object.values(INVENTORY_EVENTS) : [])]),
    handlers: [...orderEventHandlers(options.hooks), ...(stock ? inventoryEventHandlers({ pool, stock }, options.hooks) : [])],
    pool,
    storeSchema: config.CATALOG_SCHEMA,
    registry,
    log,
    ...(config.EVENTS_FAST_CONSUMER ? FAST : {}),
  });
  const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  return {
    relay,
    consumer,
    async prepare(ownerPool) {
      await migrateProcessedEventStore({ pool: ownerPool, schema: config.CATALOG_SCHEMA });
      // orders owns its topic; creating a missing one (its defaults) only makes the start order free.
      await ensureTopics(kafka, [
        { name: config.CATALOG_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 },
        { name: config.ORDERS_EVENTS_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 },
        ...(stock ? [{ name: config.INVENTORY_EVENTS_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 }] : []),
      ]);
    },
    async start() {
      void withSystemContext(pool, 'catalog.outbox-relay', async () => relay.start());
      await consumer.start();
    },
    async close() {
      await bounded(consumer.stop());
      await relay.stop();
      await bounded(producer.close());
      stock?.close();
    },
  };
}
