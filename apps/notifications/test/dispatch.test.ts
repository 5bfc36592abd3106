/**
 * The dispatcher against real PostgreSQL and Redis: its reconciliation of
 * delivery rows with the queue (a pending row whose job is gone gets one, a
 * pending row whose job was dead-lettered is marked dead and replayable), and
 * the cost of its pass, read from EXPLAIN (buffers, not time), flat in the
 * backlog of a disabled endpoint.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { idempotentJobId } from '@bulwark/jobs';
import { deliveryKey } from '../src/domain/dispatcher.ts';
import { claimDeliveriesSql } from '../src/store/deliveries-store.ts';
import { scrapeValue } from '@bulwark/test-support';
import { call, Receiver, setupNotifications, waitFor, type TestNotifications } from './support.ts';

let t: TestNotifications;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver.stop();
});
beforeEach(async () => {
  t = await setupNotifications();
});
afterEach(async () => {
  await t.cleanup();
});

/** A pending delivery row the dispatcher believes enqueued an hour ago (its job is whatever the test leaves in Redis). */
async function insertEnqueuedDelivery(endpointId: string, tenant: string, eventId: string): Promise<string> {
  const id = randomUUID();
  await t.db.query(
    `INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload, enqueued_at) VALUES ($1, $2, $3, $4, 'order.confirmed', $5, now() - interval '1 hour')`,
    [id, endpointId, tenant, eventId, JSON.stringify({ id: eventId, type: 'order.confirmed', data: {} })],
  );
  return id;
}

describe('reconciliation of delivery rows with the queue', () => {
  it('when a pending row has no job (lost with Redis), then the dispatcher creates one and it is delivered; when its job was dead-lettered unseen, then the row is marked dead and replay delivers it', async () => {
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/reconcile-${randomUUID()}`;
    const { app, url } = await t.startApp({ DISPATCH_STALE_MS: '1000' });
    const endpoint = (await call(url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'] })).body.endpoint;

    const lost = await insertEnqueuedDelivery(endpoint.id, tn, 'evt-lost');
    // The dead letter of a job whose worker died before telling anyone (the 2nd kill of issue 34 before the hook).
    const poisoned = await insertEnqueuedDelivery(endpoint.id, tn, 'evt-poisoned');
    await app.webhookQueue.deadLetterQueue.add('deliver', {
      queue: 'notifications-webhooks', partition: 'notifications-webhooks', jobId: idempotentJobId(deliveryKey(poisoned)), provider: undefined, reason: 'poison',
      failedReason: 'job stalled more than allowable limit', attemptsMade: 0, attempts: [], data: { deliveryId: poisoned }, opts: {}, enqueuedAt: Date.now(), deadLetteredAt: Date.now(),
    }, { jobId: idempotentJobId(deliveryKey(poisoned)) });

    await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${lost}`)).body.status === 'succeeded', 'the lost job re-created and delivered');
    await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${poisoned}`)).body.status === 'dead', 'the dead-lettered row marked dead');
    const dead = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${poisoned}`)).body;
    expect(dead.lastError).toBe('dead-lettered (poison): job stalled more than allowable limit');
    // The runbook's query for dead deliveries finds it, and replay sends it.
    const listed = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries?status=dead`)).body;
    expect(listed.deliveries.map((d: { id: string }) => d.id)).toEqual([poisoned]);
    expect(await scrapeValue(url, 'notifications_dispatch_reconciled_total', 'repair="job-created"')).toBe(1);
    expect(await scrapeValue(url, 'notifications_dispatch_reconciled_total', 'repair="marked-dead"')).toBe(1);
    const replay = await call(url, 'POST', `/v1/tenants/${tn}/deliveries/${poisoned}/replay`);
    expect(replay.status).toBe(202);
    await waitFor(() => receiver.at(path).filter((r) => r.eventId === 'evt-poisoned').length === 1, 'the replay delivered');
    expect(receiver.at(path).map((r) => r.eventId).sort()).toEqual(['evt-lost', 'evt-poisoned']);
  });
});

describe('cost of a dispatch pass', () => {
  async function passBuffers(): Promise<{ buffers: number; rows: number }> {
    const client = await t.db.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${claimDeliveriesSql(false)}`, [200]);
      await client.query('ROLLBACK');
      const plan = rows[0]!['QUERY PLAN'][0].Plan;
      // Blocks touched by the whole statement (the root node's count includes its children) and rows read by every node.
      let scanned = 0;
      const walk = (node: Record<string, unknown>): void => {
        scanned += Number(node['Actual Rows'] ?? 0) * Number(node['Actual Loops'] ?? 1);
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk(plan);
      return { buffers: Number(plan['Shared Hit Blocks'] ?? 0) + Number(plan['Shared Read Blocks'] ?? 0), rows: scanned };
    } finally {
      client.release();
    }
  }

  it('when a disabled endpoint has a backlog of 1,000 or of 40,000 pending deliveries, then the pass reads the same blocks and rows (EXPLAIN), not the backlog', async () => {
    await t.startApp({ WORKER_ENABLED: 'false' });
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const disabled = randomUUID();
    await t.db.query(`INSERT INTO endpoints (id, tenant_id, url, event_types, status) VALUES ($1, $2, 'http://127.0.0.1:9/', '{*}', 'disabled')`, [disabled, tn]);
    for (let i = 0; i < 10; i++) {
      await t.db.query(`INSERT INTO endpoints (id, tenant_id, url, event_types, ordered) VALUES ($1, $2, 'http://127.0.0.1:9/', '{*}', $3)`, [randomUUID(), tn, i % 2 === 0]);
    }
    const backlog = async (n: number) =>
      t.db.query(`INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload) SELECT gen_random_uuid(), $1, $2, 'b-' || g || '-' || $3, 'x', '{}' FROM generate_series(1, $3::int) g`, [disabled, tn, n]);
    await backlog(1_000);
    await t.db.query('ANALYZE deliveries; ANALYZE endpoints');
    const small = await passBuffers();
    await backlog(39_000);
    await t.db.query('ANALYZE deliveries; ANALYZE endpoints');
    const large = await passBuffers();
    // Flat: an index level and a plan detail at most, never a share of the 39,000 rows added (the old pass read them all).
    expect(large.buffers).toBeLessThanOrEqual(small.buffers + 3);
    expect(large.rows).toBeLessThanOrEqual(small.rows + 5);
    expect(large.rows).toBeLessThan(100);
  });
});
