import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { deleteTopics, kafkaBrokers as brokers, readTopic, suffix } from '@bulwark/test-support';
import { call, key, setupInventory, type TestInventory } from './support.ts';

let env: TestInventory;
let topic: string;
beforeEach(async () => {
  env = await setupInventory();
  topic = `test.${suffix()}.inventory`;
});
afterEach(async () => {
  await env.cleanup();
  await deleteTopics(topic);
});

interface SeenData {
  reservationId: string;
  orderId: string;
  reason: string | null;
  restocked: boolean;
  items: unknown[];
}

/** Reads the topic from the beginning until `count` messages arrived. */
const readEvents = (count: number) => readTopic<SeenData>(topic, count, { clientId: 'inventory-test-reader' });

describe('inventory events', () => {
  it('when reservations are held, confirmed, released and expired, then one event per committed transition reaches Kafka, keyed by order', async () => {
    const { url, app } = await env.start({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: brokers().join(','), INVENTORY_TOPIC: topic, INVENTORY_TOPIC_PARTITIONS: '1', OUTBOX_POLL_MS: '20' });
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const reserve = async (orderId: string) => (await call(url, 'POST', '/v1/internal/reservations', { orderId, items: [{ sku: 'A', quantity: 1 }] }, key())).body.id as string;
    const a = await reserve('o-a');
    const b = await reserve('o-b');
    const c = await reserve('o-c');
    const h = key();
    await call(url, 'POST', `/v1/internal/reservations/${a}/confirm`, undefined, h);
    await call(url, 'POST', `/v1/internal/reservations/${a}/confirm`, undefined, h); // replay: no second event
    await call(url, 'POST', `/v1/internal/reservations/${a}/release`, undefined, key()); // refund: restocked
    await call(url, 'POST', `/v1/internal/reservations/${b}/release`, undefined, key());
    await call(url, 'POST', `/v1/internal/reservations/${b}/release`, undefined, key()); // already released: no event
    expect((await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-x', items: [{ sku: 'A', quantity: 99 }] }, key())).status).toBe(409); // rolled back: no event
    await env.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1`, [c]);
    expect(await app.sweeper.sweepOnce()).toBe(1);

    const seen = await readEvents(7);
    const summary = seen.map((e) => [e.type.replace('com.bulwark.inventory.', ''), e.key, e.data.reservationId, e.data.reason, e.data.restocked]);
    expect(summary).toEqual([
      ['reserved', 'o-a', a, null, false],
      ['reserved', 'o-b', b, null, false],
      ['reserved', 'o-c', c, null, false],
      ['confirmed', 'o-a', a, null, false],
      ['released', 'o-a', a, 'requested', true],
      ['released', 'o-b', b, 'requested', false],
      ['released', 'o-c', c, 'expired', false],
    ]);
    await app.relay!.publishOnce();
    const { rows } = await env.db.query<{ total: number; unpublished: number }>('SELECT count(*)::int AS total, (count(*) FILTER (WHERE published_at IS NULL))::int AS unpublished FROM inventory_events_outbox');
    expect(rows[0]).toEqual({ total: 7, unpublished: 0 });
  });
});
