/**
 * Invalidation driven by Kafka: a product-changed event handled by one
 * instance's consumer drops the product from L1 on every instance (through
 * Redis pub/sub) and from Redis, so the next read reaches the origin.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createPool, type DbPool } from '@bulwark/db';
import { connectAdmin, createConsumer, createEventRegistry, createKafka, createProducer, defineEvent, migrateProcessedEventStore, provisionTopics, type TopicAdmin } from '@bulwark/events';
import { kafkaBrokers, pgUrl, silent, suffix, waitFor } from '@bulwark/test-support';
import { invalidateOn } from '../src/index.ts';
import { cacheBed } from './support.ts';

const ProductChanged = defineEvent({
  type: 'com.bulwark.test.product-changed',
  version: 1,
  schema: z.object({ productId: z.string(), categoryId: z.string() }),
});
const schemas = createEventRegistry([ProductChanged]);

const id = suffix();
const bed = cacheBed('catalog', {}, `cachetest-${id}`);
const { newCache } = bed;
const topic = `test.${id}.products`;
const group = `g-cache-${id}`;
const schema = `cache_${id}`;
const kafka = createKafka({ brokers: kafkaBrokers(), clientId: `cache-test-${id}`, log: silent });
const registry = new Registry();
let admin: TopicAdmin;
let pool: DbPool;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  admin = await connectAdmin(kafka);
  await provisionTopics(admin, [{ name: topic, partitions: 1 }]);
  pool = createPool({ connectionString: pgUrl(), name: schema, registry, log: silent, max: 2 });
  await migrateProcessedEventStore({ pool, schema });
});

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  await bed.close();
  await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(`test.${id}.`)));
  await admin.deleteGroups([group]);
  await admin.disconnect();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.close();
});

describe('event-driven invalidation', () => {
  it('when a product-changed event is published, then every instance drops the product and the next read calls the origin', async () => {
    const instances = [await newCache(), await newCache(), await newCache()];
    const consumer = createConsumer({
      kafka, group, topics: [topic], schemas, pool, storeSchema: schema, registry, log: silent,
      sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 5_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100, lagIntervalMs: 0,
      handlers: [invalidateOn(ProductChanged, instances[0]!, (d) => ({ keys: [`product:${d.productId}`], tags: [`category:${d.categoryId}`] }))],
    });
    cleanups.push(() => consumer.stop());
    await consumer.start();
    const producer = createProducer({ kafka, schemas, source: '/bulwark/test', registry });
    cleanups.push(() => producer.close());

    let version = 1;
    for (const c of instances) {
      await c.get('product:p-1', async () => ({ id: 'p-1', version }));
      await c.get('list:shoes', async () => ['p-1'], { tags: ['category:shoes'] });
    }
    expect(instances.every((c) => c.hasLocal('product:p-1') && c.hasLocal('list:shoes'))).toBe(true);

    version = 2;
    await producer.publish(topic, ProductChanged, { productId: 'p-1', categoryId: 'shoes' }, { key: 'p-1' });

    await waitFor(() => instances.every((c) => !c.hasLocal('product:p-1') && !c.hasLocal('list:shoes')), 'every instance to drop the changed product from L1');
    for (const c of instances) expect(await c.get('product:p-1', async () => ({ id: 'p-1', version }))).toEqual({ id: 'p-1', version: 2 });
  }, 60_000);
});
