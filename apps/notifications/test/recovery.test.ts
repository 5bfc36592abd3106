/**
 * The event log: events are kept for the retention period whatever the
 * endpoints' state, so an endpoint disabled while events were published gets
 * them after it is enabled again (recover by time range, or enable with
 * recoverMissed), each once; the same event id with another body is 409.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { verifySignature } from '@bulwark/webhook-signature';
import { loadNotificationsConfig } from '../src/config.ts';
import type { NotificationsApp } from '../src/app.ts';
import { call, Receiver, setupNotifications, waitFor, type TestNotifications } from './support.ts';

let t: TestNotifications;
let app: NotificationsApp;
let url: string;
let receiver: Receiver;
const tenant = () => `t-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver.stop();
});
beforeEach(async () => {
  t = await setupNotifications();
  ({ app, url } = await t.startApp());
});
afterEach(async () => {
  await t.cleanup();
});

async function register(tn: string, path: string): Promise<{ id: string; secret: string }> {
  const r = await call(url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed', 'order.cancelled'] });
  expect(r.status).toBe(201);
  return { id: r.body.endpoint.id, secret: r.body.secret };
}

const publish = (tn: string, id: string, data: unknown, type = 'order.confirmed') => call(url, 'POST', `/v1/tenants/${tn}/events`, { id, type, data });

/**
 * Every event id the receiver got at `path` (each signature verified), once
 * `expected` distinct ids have arrived and the tenant has no pending delivery
 * left: nothing more is on its way, so the counts are final.
 */
async function receivedWhenSettled(tn: string, path: string, secret: string, expected: number): Promise<string[]> {
  await waitFor(() => new Set(receiver.at(path).map((r) => r.eventId)).size >= expected, `${expected} events at ${path}`);
  await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tn}/deliveries?status=pending`)).body.deliveries.length === 0, 'no pending delivery');
  const got = receiver.at(path);
  for (const r of got) expect(verifySignature(r.signature, r.body, [secret])).toMatchObject({ ok: true });
  return got.map((r) => JSON.parse(r.body).id as string);
}

describe('events published while an endpoint is disabled', () => {
  it('when 20 events are published to a disabled endpoint, then they are kept, and after re-enabling a replay of the range delivers all 20 exactly once (a second replay adds none)', async () => {
    const tn = tenant();
    const path = `/recover-${randomUUID()}`;
    const endpoint = await register(tn, path);
    const from = new Date(Date.now() - 60_000).toISOString();
    for (const id of ['before-1', 'before-2']) expect((await publish(tn, id, { id })).body.deliveries).toHaveLength(1);
    await waitFor(() => receiver.at(path).length === 2, 'the two events before the disable');
    expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/disable`)).status).toBe(200);

    const missed = Array.from({ length: 20 }, (_, i) => `missed-${i}`);
    for (const id of missed) {
      const r = await publish(tn, id, { i: id });
      expect([r.status, r.body.deliveries]).toEqual([202, []]);
    }
    expect((await t.db.query(`SELECT id FROM events WHERE tenant_id = $1`, [tn])).rowCount).toBe(22);

    // Recovery into a disabled endpoint is refused; PATCH enabled: true re-enables without recovering.
    expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, { from })).status).toBe(409);
    expect((await call(url, 'PATCH', `/v1/tenants/${tn}/endpoints/${endpoint.id}`, { enabled: true })).body.status).toBe('active');
    const to = new Date(Date.now() + 60_000).toISOString();
    const recovered = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, { from, to });
    expect(recovered.status).toBe(202);
    expect(recovered.body).toMatchObject({ recovered: 20, next: null });
    expect(recovered.body.deliveryIds).toHaveLength(20);

    const again = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, { from, to });
    expect(again.body).toMatchObject({ recovered: 0, deliveryIds: [] });

    const ids = await receivedWhenSettled(tn, path, endpoint.secret, 22);
    expect(ids.sort()).toEqual(['before-1', 'before-2', ...missed].sort()); // each once: no duplicates of the two already delivered
    const log = await call(url, 'GET', `/v1/tenants/${tn}/deliveries?endpointId=${endpoint.id}&limit=500`);
    expect(log.body.deliveries).toHaveLength(22);
  });

  it('when an endpoint is enabled through /enable, then the events published since it was disabled are delivered, in publication order, and recover pages with next', async () => {
    const tn = tenant();
    const path = `/enable-${randomUUID()}`;
    const endpoint = await register(tn, path);
    await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/disable`);
    for (let i = 0; i < 3; i++) await publish(tn, `e${i}`, { i });
    const enabled = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/enable`, {});
    expect(enabled.status).toBe(200);
    expect(enabled.body.endpoint).toMatchObject({ status: 'active', disabledAt: null });
    expect(enabled.body.recovery).toMatchObject({ recovered: 3, next: null });
    const ids = await receivedWhenSettled(tn, path, endpoint.secret, 3);
    expect(ids.sort()).toEqual(['e0', 'e1', 'e2']);
    const order = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries?endpointId=${endpoint.id}`)).body.deliveries.map((d: { eventId: string }) => d.eventId);
    expect(order.slice(0, 3)).toEqual(['e0', 'e1', 'e2']);

    // A limit smaller than the range: next continues, nothing twice.
    const other = await register(tn, `/late-${randomUUID()}`); // registered after the events: recover reaches them too
    const page1 = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${other.id}/recover`, { from: new Date(Date.now() - 60_000).toISOString(), limit: 2 });
    expect(page1.body).toMatchObject({ recovered: 2, next: expect.any(String) });
    const page2 = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${other.id}/recover`, { from: page1.body.next, limit: 10 });
    expect(page2.body.recovered + page1.body.recovered).toBe(3);
    expect(page2.body.next).toBeNull();
  });
});

describe('event ids', () => {
  it('when an event id is published again with another body, then 409 problem+json; with the same body (any key order), then 202 and no second delivery', async () => {
    const tn = tenant();
    const path = `/ids-${randomUUID()}`;
    const endpoint = await register(tn, path);
    expect((await publish(tn, 'evt-1', { a: 1, b: { c: [1, 2] } })).body.deliveries).toHaveLength(1);
    const same = await call(url, 'POST', `/v1/tenants/${tn}/events`, `{"data":{"b":{"c":[1,2]},"a":1},"type":"order.confirmed","id":"evt-1"}`);
    expect([same.status, same.body.deliveries]).toEqual([202, []]);
    const other = await publish(tn, 'evt-1', { a: 2, b: { c: [1, 2] } });
    expect(other.status).toBe(409);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    expect(other.body).toMatchObject({ code: 'NOTIFICATIONS_EVENT_ID_REUSED', eventId: 'evt-1' });
    expect((await publish(tn, 'evt-1', { a: 1, b: { c: [1, 2] } }, 'order.cancelled')).status).toBe(409); // another type is another body
    const ids = await receivedWhenSettled(tn, path, endpoint.secret, 1);
    expect(ids).toEqual(['evt-1']);
    expect(JSON.parse(receiver.at(path)[0]!.body).data).toEqual({ a: 1, b: { c: [1, 2] } });
  });
});

describe('retention', () => {
  it('when events are older than EVENTS_RETENTION_HOURS, then the sweep deletes them and newer ones stay', async () => {
    const tn = tenant();
    for (const id of ['old', 'new']) await publish(tn, id, {});
    await t.db.query(`UPDATE events SET created_at = now() - interval '31 days' WHERE tenant_id = $1 AND id = 'old'`, [tn]);
    expect(await app.retention.sweepOnce()).toBe(1);
    expect((await t.db.query<{ id: string }>(`SELECT id FROM events WHERE tenant_id = $1`, [tn])).rows.map((r) => r.id)).toEqual(['new']);
  });

  it('when EVENTS_RETENTION_HOURS is not a whole number of hours from 1 to 2160, then the config is refused naming the key', () => {
    const base = { DATABASE_URL: 'postgres://x', MIGRATION_DATABASE_URL: 'postgres://owner', REDIS_URL: 'redis://x', EVENTS_ENABLED: 'false' };
    for (const bad of ['0', '2161', '1.5', 'week']) expect(() => loadNotificationsConfig({ ...base, EVENTS_RETENTION_HOURS: bad })).toThrow(/EVENTS_RETENTION_HOURS/);
    expect(loadNotificationsConfig(base).EVENTS_RETENTION_HOURS).toBe(720);
  });
});
