/**
 * The event log: events are kept for the retention period whatever the
 * endpoints' state, so an endpoint disabled while events were published gets
 * them after it is enabled again (recover by time range, or enable with
 * recoverMissed), each once; the same event id with another body is 409.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { withTenant, withTransaction } from '@bulwark/db';
import { verifySignature } from '@bulwark/webhook-signature';
import { loadNotificationsConfig } from '../src/config.ts';
import type { NotificationsApp } from '../src/app.ts';
import { publishEvent } from '../src/domain/publish-event.ts';
import { insertFanOut } from '../src/store/deliveries-store.ts';
import { insertMissedDeliveries, storeEvent } from '../src/store/events-store.ts';
import { call, Receiver, setupNotifications, waitFor, type Reply, type TestNotifications } from './support.ts';

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

    // Recovery into a disabled endpoint is refused; enabling with recoverMissed false leaves the recovery to the range replay.
    expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, { from })).status).toBe(409);
    expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/enable`, { recoverMissed: false })).body.endpoint.status).toBe('active');
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

  it('when an endpoint is re-enabled with PATCH enabled: true, then the events published while it was disabled are delivered as /enable delivers them, each once', async () => {
    const tn = tenant();
    const path = `/patch-enable-${randomUUID()}`;
    const endpoint = await register(tn, path);
    expect((await publish(tn, 'patch-before', { id: 'patch-before' })).body.deliveries).toHaveLength(1);
    await waitFor(() => receiver.at(path).length === 1, 'the event before the disable');
    expect((await call(url, 'PATCH', `/v1/tenants/${tn}/endpoints/${endpoint.id}`, { enabled: false })).body.status).toBe('disabled');
    const missed = ['patch-missed-1', 'patch-missed-2', 'patch-missed-3'];
    for (const id of missed) expect((await publish(tn, id, { id })).body.deliveries).toEqual([]);
    const enabled = await call(url, 'PATCH', `/v1/tenants/${tn}/endpoints/${endpoint.id}`, { enabled: true });
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ status: 'active', disabledAt: null });
    const ids = await receivedWhenSettled(tn, path, endpoint.secret, 4);
    expect(ids.sort()).toEqual(['patch-before', ...missed].sort());
    // Nothing is left for a recovery to find.
    const again = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, { from: new Date(Date.now() - 60_000).toISOString() });
    expect(again.body).toMatchObject({ recovered: 0 });
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
    expect(enabled.body.missed).toMatchObject({ count: 0 });
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

describe('recovery edges', () => {
  it('when a recover range is malformed, reversed or ends before the retained events begin, then a problem+json (400, 400, 422) and nothing is created', async () => {
    const tn = tenant();
    const endpoint = await register(tn, `/ranges-${randomUUID()}`);
    const recover = (body: unknown) => call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, body);
    const now = Date.now();
    for (const body of [{ from: 'yesterday' }, {}, { from: new Date(now).toISOString(), to: new Date(now - 1_000).toISOString() }, { from: new Date(now).toISOString(), to: new Date(now).toISOString() }]) {
      const r = await recover(body);
      expect([JSON.stringify(body), r.status, r.headers.get('content-type')]).toEqual([JSON.stringify(body), 400, 'application/problem+json']);
    }
    const gone = await recover({ from: new Date(now - 40 * 86_400_000).toISOString(), to: new Date(now - 31 * 86_400_000).toISOString() }); // retention: 30 days
    expect([gone.status, gone.headers.get('content-type')]).toEqual([422, 'application/problem+json']);
    expect(gone.body).toMatchObject({ code: 'NOTIFICATIONS_RANGE_NOT_RETAINED', retainedSince: expect.any(String) });
    // A range that starts before the retention but reaches into it is served: what is kept is recovered, retainedSince says where that starts.
    await publish(tn, 'kept', {});
    const partly = await recover({ from: new Date(now - 40 * 86_400_000).toISOString() });
    expect([partly.status, partly.body.recovered]).toEqual([202, 0]); // the endpoint got it when it was published
    const log = await call(url, 'GET', `/v1/tenants/${tn}/deliveries?endpointId=${endpoint.id}`);
    expect(log.body.deliveries.map((d: { eventId: string }) => d.eventId)).toEqual(['kept']);
  });

  it("when tenant B recovers or enables with tenant A's endpoint id, then 404; B's own endpoint never gets A's events", async () => {
    const [a, b] = [tenant(), tenant()];
    const pathA = `/iso-a-${randomUUID()}`;
    const pathB = `/iso-b-${randomUUID()}`;
    const endpointA = await register(a, pathA);
    await call(url, 'POST', `/v1/tenants/${a}/endpoints/${endpointA.id}/disable`);
    for (let i = 0; i < 3; i++) await publish(a, `a-${i}`, { i }); // missed by A's endpoint
    const from = new Date(Date.now() - 60_000).toISOString();
    expect((await call(url, 'POST', `/v1/tenants/${b}/endpoints/${endpointA.id}/enable`, {})).status).toBe(404);
    expect((await call(url, 'POST', `/v1/tenants/${b}/endpoints/${endpointA.id}/recover`, { from })).status).toBe(404);
    expect((await call(url, 'GET', `/v1/tenants/${a}/endpoints/${endpointA.id}`)).body.status).toBe('disabled');
    const endpointB = await register(b, pathB); // registered after A's events: recover reaches B's own events only
    await publish(b, 'b-0', {});
    const recovered = await call(url, 'POST', `/v1/tenants/${b}/endpoints/${endpointB.id}/recover`, { from });
    expect([recovered.status, recovered.body.recovered]).toEqual([202, 0]); // b-0 was delivered at publication; A's events are not B's
    expect(await receivedWhenSettled(b, pathB, endpointB.secret, 1)).toEqual(['b-0']);
    // A gets its own three when it enables.
    expect((await call(url, 'POST', `/v1/tenants/${a}/endpoints/${endpointA.id}/enable`, {})).body.recovery).toMatchObject({ recovered: 3 });
    expect((await receivedWhenSettled(a, pathA, endpointA.secret, 3)).sort()).toEqual(['a-0', 'a-1', 'a-2']);
  });

  it('when an endpoint is enabled with recoverMissed false, then the answer counts the missed events and recover from its `from` delivers them', async () => {
    const tn = tenant();
    const path = `/count-${randomUUID()}`;
    const endpoint = await register(tn, path);
    await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/disable`);
    for (let i = 0; i < 4; i++) await publish(tn, `m${i}`, { i });
    await publish(tn, 'other-type', {}, 'order.shipped'); // not in the endpoint's filter: not missed
    const enabled = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/enable`, { recoverMissed: false });
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ endpoint: { status: 'active' }, recovery: null, missed: { count: 4, more: false, from: expect.any(String) } });
    const again = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/enable`, {});
    expect(again.body).toMatchObject({ recovery: null, missed: null }); // already active: nothing to say
    const recovered = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, { from: enabled.body.missed.from });
    expect(recovered.body.recovered).toBe(4);
    expect((await receivedWhenSettled(tn, path, endpoint.secret, 4)).sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
  });

  it('when an event was recorded before the disable committed but fanned out after it (no delivery), then enabling still delivers it', async () => {
    const tn = tenant();
    const path = `/race-${randomUUID()}`;
    const endpoint = await register(tn, path);
    // publishEvent's two statements, with the disable committing between them: the event's time is before disabledAt.
    const payload = JSON.stringify({ id: 'raced', type: 'order.confirmed', occurredAt: new Date().toISOString(), data: {} });
    const fannedOut = await withTransaction(t.db, async (tx) => {
      await storeEvent(tx, { tenantId: tn, id: 'raced', type: 'order.confirmed', fingerprint: 'f', payload });
      expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/disable`)).status).toBe(200);
      return insertFanOut(tx, { tenantId: tn, eventId: 'raced', eventType: 'order.confirmed', payload });
    });
    expect(fannedOut).toEqual([]);
    const enabled = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/enable`, {});
    expect(enabled.body.recovery).toMatchObject({ recovered: 1 });
    expect(await receivedWhenSettled(tn, path, endpoint.secret, 1)).toEqual(['raced']);
  });

  it('when an event is fanned out while its endpoint is being enabled (the fan-out saw it disabled), then the enable waits for it and delivers it', async () => {
    const tn = tenant();
    const path = `/enable-race-${randomUUID()}`;
    const endpoint = await register(tn, path);
    await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/disable`);
    let enabling: Promise<Reply> | undefined;
    const created = await withTransaction(t.db, async (tx) => {
      const deliveries = await publishEvent(tx, tn, { id: 'concurrent', type: 'order.confirmed', occurredAt: new Date().toISOString(), data: {} }, 65_536);
      // Not committed yet: an enable now must not scan the log past this event, nor let it go without a delivery.
      const publisher = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      enabling = call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/enable`, {});
      await waitFor(async () => (await t.db.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))', [publisher])).rowCount === 1, 'the enable waiting for the publisher');
      return deliveries;
    });
    expect(created).toEqual([]);
    const enabled = await enabling!;
    expect(enabled.body.recovery).toMatchObject({ recovered: 1 });
    expect(await receivedWhenSettled(tn, path, endpoint.secret, 1)).toEqual(['concurrent']);
  });

  it('when more events than the limit share one creation time, then recover called again with next goes on through them, each once', async () => {
    const tn = tenant();
    for (let i = 0; i < 5; i++) await publish(tn, `same-${i}`, { i });
    await t.db.query(`UPDATE events SET created_at = date_trunc('second', now()) WHERE tenant_id = $1`, [tn]);
    const endpoint = await register(tn, `/same-time-${randomUUID()}`);
    const from = new Date(Date.now() - 60_000).toISOString();
    const got: number[] = [];
    let next: string | null = from;
    for (let page = 0; next !== null && page < 5; page++) {
      const r = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/recover`, { from: next, limit: 2 });
      got.push(r.body.recovered);
      next = r.body.next;
    }
    expect(got).toEqual([2, 2, 1]);
    expect(next).toBeNull();
    const log = await call(url, 'GET', `/v1/tenants/${tn}/deliveries?endpointId=${endpoint.id}`);
    expect(log.body.deliveries.map((d: { eventId: string }) => d.eventId).sort()).toEqual(['same-0', 'same-1', 'same-2', 'same-3', 'same-4']);
  });
});

describe('recovery scan bound', () => {
  it('when a range holds more events than one call looks at, then next continues after the part looked at, also when none of it was missing', async () => {
    const tn = tenant();
    const endpoint = await register(tn, `/scan-${randomUUID()}`);
    for (let i = 0; i < 4; i++) await publish(tn, `had-${i}`, { i }); // delivered at publication
    await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/disable`);
    for (let i = 0; i < 3; i++) await publish(tn, `lacks-${i}`, { i });
    const recover = (from: Date) =>
      withTenant(tn, () => withTransaction(app.pool, (tx) => insertMissedDeliveries(tx, { tenantId: tn, endpointId: endpoint.id, from, to: undefined, limit: 10, scanMax: 3 })));
    const pages: { created: number; next: string | null }[] = [];
    let from: Date | null = new Date(Date.now() - 60_000);
    while (from && pages.length < 6) {
      const r = await recover(from);
      pages.push({ created: r.deliveryIds.length, next: r.next });
      from = r.next === null ? null : new Date(r.next);
    }
    // Three looked at each time, from the last one looked at (>=: it is looked at again, and skipped): had-0..2; had-2, had-3, lacks-0; lacks-0..2; lacks-2, the end.
    expect(pages.map((p) => p.created)).toEqual([0, 1, 2, 0]);
    expect(pages.at(-1)!.next).toBeNull();
    const log = await call(url, 'GET', `/v1/tenants/${tn}/deliveries?endpointId=${endpoint.id}`);
    expect(log.body.deliveries.map((d: { eventId: string }) => d.eventId)).toEqual(['had-0', 'had-1', 'had-2', 'had-3', 'lacks-0', 'lacks-1', 'lacks-2']);
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
