/**
 * Stock adjustments reach Kafka (issue 28: a restock must turn a product's
 * "in stock" back on in catalog): each committed adjustment is one
 * `com.bulwark.inventory.stock-changed` event keyed by its SKU with the level
 * after it, through the real outbox relay and broker; a refused adjustment
 * (409) and a replayed Idempotency-Key publish nothing; an adjustment made
 * without a tenant is published too (stock is shared by every tenant).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deleteTopics, kafkaBrokers, readTopic, suffix, TEST_TENANT } from '@bulwark/test-support';
import { call, key, setupInventory, type TestInventory } from './support.ts';

const ADMIN = { 'x-auth-sub': 'admin-1', 'x-auth-roles': 'admin' };

describe('stock-changed events', () => {
  let env: TestInventory;
  let url: string;
  const topic = `test.${suffix()}.inventory-stock`;
  beforeAll(async () => {
    env = await setupInventory();
    ({ url } = await env.start({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: kafkaBrokers().join(','), INVENTORY_TOPIC: topic, INVENTORY_TOPIC_PARTITIONS: '1', OUTBOX_POLL_MS: '20' }));
  });
  afterAll(async () => {
    await env?.cleanup();
    await deleteTopics(topic);
  });

  it('when stock is adjusted (restocked, refused, replayed, without a tenant), then one stock-changed event per committed adjustment reaches Kafka, keyed by SKU, with the level after it', async () => {
    expect((await call(url, 'PUT', '/v1/skus/RS', { onHand: 2 })).status).toBe(200);
    expect((await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-rs', items: [{ sku: 'RS', quantity: 2 }] }, key())).status).toBe(201);
    const k = key();
    const restock = await call(url, 'POST', '/v1/skus/RS/adjustments', { delta: 4, reason: 'received', note: 'PO-9' }, { ...ADMIN, ...k });
    expect(restock.status).toBe(201);
    expect((await call(url, 'POST', '/v1/skus/RS/adjustments', { delta: 4, reason: 'received', note: 'PO-9' }, { ...ADMIN, ...k })).status).toBe(201); // replay
    expect((await call(url, 'POST', '/v1/skus/RS/adjustments', { delta: -5, reason: 'lost' }, { ...ADMIN, ...key() })).status).toBe(409); // below reserved
    const untenanted = await call(url, 'POST', '/v1/skus/RS/adjustments', { delta: -1, reason: 'damaged' }, { ...ADMIN, ...key(), 'x-auth-tenant': '' });
    expect(untenanted.status).toBe(201);

    const seen = await readTopic<Record<string, unknown>>(topic, 3, { deadlineMs: 30_000 });
    const stock = seen.filter((e) => e.type === 'com.bulwark.inventory.stock-changed');
    expect(stock).toHaveLength(2);
    expect(stock).toEqual(expect.arrayContaining([
      { type: 'com.bulwark.inventory.stock-changed', key: 'RS', data: { sku: 'RS', delta: 4, reason: 'received', adjustmentId: (restock.body.adjustment as { id: string }).id, onHand: 6, reserved: 2, available: 4 } },
      { type: 'com.bulwark.inventory.stock-changed', key: 'RS', data: expect.objectContaining({ delta: -1, reason: 'damaged', onHand: 5, reserved: 2, available: 3 }) },
    ]));
    expect(seen.map((e) => e.type).sort()).toEqual(['com.bulwark.inventory.reserved', 'com.bulwark.inventory.stock-changed', 'com.bulwark.inventory.stock-changed']);
    const { rows } = await env.db.query<{ tenant_id: string | null }>("SELECT tenant_id FROM inventory_events_outbox WHERE type = 'stock-changed' AND published_at IS NOT NULL ORDER BY id");
    expect(rows.map((r) => r.tenant_id)).toEqual([TEST_TENANT, null]);
  });
});
