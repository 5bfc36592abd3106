/**
 * Invalidation driven by Kafka: a product-changed event handled by one
 * instance's consumer drops the product from L1 on every instance (through
 * Redis pub/sub) and from Redis, so the next read reaches the origin.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createPool, type DbPool } from '@bulwark/db';
import { connectAdmin, createConsumer, createEventRegistry, createKafka, createProducer, defineEvent, migrateProcessedEventStore, provisionTopics, type TopicAdmin } from '@bulwark/events';
import { deletePrefix, kafkaBrokers, pgUrl, redisUrl, silent, suffix, waitFor } from '@bulwark/test-support';
import { Cache, invalidateOn } from '../src/index.ts';

const ProductChanged = defineEvent({
  type: 'com.bulwark.test.product-changed',
  version: 1,
  schema: z.object({ productId: z.string(), categoryId: z.string() }),
});
const schemas = createEventRegistry([ProductChanged]);

const id = suffix();
const prefix = `cachetest-${id}`;
const topic = `test.${id}.products`;
const group = `g-cache-${id}`;
const schema = `cache_${id}`;
const kafka = createKafka({ brokers: kafkaBrokers(), clientId: `cache-test-${id}`, log: silent });
const registry = new Registry();
let admin: TopicAdmin;
let pool: DbPool;
const clients: Redis[] = [];
const caches: Cache[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

async function newCache(): Promise<Cache> {
  const redis = new Redis(redisUrl());
  clients.push(redis);
  const cache = new Cache({ name: 'catalog', prefix, redis, redisTimeoutMs: 2_000 }); // loaded CI box: 100 ms can pass
  await cache.start();
  caches.push(cache);
  return cache;
}

beforeAll(async () => {
  admin = await connectAdmin(kafka);
  await provisionTopics(admin, [{ name: topic, partitions: 1 }]);
  pool = createPool({ connectionString: pgUrl(), name: schema, registry, log: silent, max: 2 });
  await migrateProcessedEventStore({ pool, schema });
});

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  for (const c of caches) await c.close();
  await deletePrefix(redisUrl(), prefix);
  for (const r of clients) r.disconnect();
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
