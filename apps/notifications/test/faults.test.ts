/**
 * Process faults with the service as a real child process: a worker
 * SIGKILLed in the middle of a delivery (the job is recovered by the stalled
 * check and completed once), and SIGTERM under load (in-flight jobs finish
 * or are handed back; nothing is left active to stall).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { getQueueDepth, JobQueue, listDeadLetters } from '@bulwark/jobs';
import { loadConfig } from '@bulwark/service-kit';
import { webhookQueueDefinition } from '../src/app.ts';
import { notificationsConfigSchema } from '../src/config.ts';
import { redisUrl } from '@bulwark/test-support';
import { call, Receiver, setupNotifications, waitFor, type TestNotifications } from './support.ts';

let t: TestNotifications;
let receiver: Receiver;
let queue: JobQueue | undefined;

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
  await queue?.close();
  queue = undefined;
  await t.cleanup();
});

/** Short locks so a killed worker's job is found stalled within seconds. */
const CRASH_ENV = { WORKER_LOCK_MS: '1500', WORKER_STALLED_INTERVAL_MS: '500', DISPATCH_INTERVAL_MS: '100' };

function openQueue(): JobQueue {
  const config = loadConfig(notificationsConfigSchema, t.env());
  queue = new JobQueue(webhookQueueDefinition(config), { connection: { url: redisUrl(), maxRetriesPerRequest: null }, prefix: t.prefix });
  return queue;
}

async function okAttempts(deliveryId: string): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = $1 AND ok`, [deliveryId]);
  return rows[0]!.n;
}

describe('faults', () => {
  it('when the worker process is SIGKILLed mid-delivery, then another worker retries the job: not lost, recorded as succeeded once, and a stray re-run is a no-op', async () => {
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/crash-${randomUUID()}`;
    receiver.plan(path, (n) => (n === 0 ? 'hold' : 200));
    const first = await t.spawnApp(CRASH_ENV);
    const endpoint = (await call(first.url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'] })).body.endpoint;
    const published = await call(first.url, 'POST', `/v1/tenants/${tn}/events`, { id: 'evt-crash', type: 'order.confirmed', data: {} });
    const deliveryId = published.body.deliveries[0].id as string;
    await waitFor(() => receiver.at(path).length === 1, 'the worker to be mid-delivery');
    await first.kill('SIGKILL');
    receiver.releaseHeld(); // the answer goes to a dead socket
    const q = openQueue();
    expect((await getQueueDepth(q)).total.active).toBe(1); // the killed worker's job is stuck active until its lock expires

    const second = await t.spawnApp(CRASH_ENV);
    await waitFor(async () => (await call(second.url, 'GET', `/v1/tenants/${tn}/deliveries/${deliveryId}`)).body.status === 'succeeded', 'the retried delivery');
    expect(receiver.at(path).map((r) => r.eventId)).toEqual(['evt-crash', 'evt-crash']); // at least once at the HTTP boundary, same event id
    expect(await okAttempts(deliveryId)).toBe(1);
    const d = (await call(second.url, 'GET', `/v1/tenants/${tn}/deliveries/${deliveryId}`)).body;
    expect(d).toMatchObject({ status: 'succeeded', attempts: 1 }); // the killed attempt left no record
    await waitFor(async () => (await getQueueDepth(q)).total.completed === 1, 'the job completed');
    const depth = await getQueueDepth(q);
    expect(depth.total).toMatchObject({ active: 0, waiting: 0, delayed: 0, failed: 0, completed: 1 });
    expect(depth.deadLettered).toBe(0);
    const job = await q.partitionQueues.get('notifications-webhooks')!.getJob((await q.partitionQueues.get('notifications-webhooks')!.getJobs(['completed']))[0]!.id!);
    expect(job!.data).toEqual({ deliveryId });
    const { logs } = await q.partitionQueues.get('notifications-webhooks')!.getJobLogs(job!.id!);
    expect(logs.some((l) => l.includes('stalled'))).toBe(true); // recovered by the stalled check, recorded in its history

    // Idempotent handler: a duplicate job for the settled delivery sends nothing and records nothing.
    await q.enqueue('deliver', { deliveryId }, { idempotencyKey: `duplicate:${deliveryId}` });
    await waitFor(async () => (await getQueueDepth(q)).total.completed === 2, 'the duplicate job');
    expect(receiver.at(path)).toHaveLength(2);
    expect(await okAttempts(deliveryId)).toBe(1);
    expect((await call(second.url, 'GET', `/v1/tenants/${tn}/endpoints/${endpoint.id}`)).body.consecutiveFailures).toBe(0);
  });

  it('when the worker process is SIGKILLed twice on the same in-flight deliveries to a hanging receiver, then they end visibly dead (poison), not pending without a job, and replay delivers every one once the receiver recovers', async () => {
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/twice-${randomUUID()}`;
    let hanging = true;
    receiver.plan(path, () => (hanging ? 'hold' : 200));
    const first = await t.spawnApp(CRASH_ENV);
    await call(first.url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call(first.url, 'POST', `/v1/tenants/${tn}/events`, { id: `twice-${i}`, type: 'order.confirmed', data: { i } })).body.deliveries[0].id);
    await waitFor(() => receiver.at(path).length === 3, 'three deliveries in flight');
    await first.kill('SIGKILL');
    const second = await t.spawnApp(CRASH_ENV);
    await waitFor(() => receiver.at(path).length === 6, 'the same three in flight again after the stalled check');
    await second.kill('SIGKILL');
    hanging = false;
    receiver.releaseHeld(); // the answers go to dead sockets
    const sentBeforeRecovery = receiver.at(path).length;

    const third = await t.spawnApp(CRASH_ENV);
    const status = async (id: string) => (await call(third.url, 'GET', `/v1/tenants/${tn}/deliveries/${id}`)).body;
    await waitFor(async () => (await Promise.all(ids.map(status))).every((d) => d.status !== 'pending'), 'no delivery left pending');
    // Two crashes in a row poison the jobs in flight (maxStalledCount 1): the verdict reaches the rows.
    for (const id of ids) expect(await status(id)).toMatchObject({ status: 'dead', attempts: 0, lastError: 'dead-lettered (poison): job stalled more than allowable limit' });
    const dead = (await call(third.url, 'GET', `/v1/tenants/${tn}/deliveries?status=dead`)).body.deliveries.map((d: { id: string }) => d.id);
    expect(dead.sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await call(third.url, 'POST', `/v1/tenants/${tn}/deliveries/${id}/replay`)).status).toBe(202);
    await waitFor(() => receiver.at(path).length === sentBeforeRecovery + ids.length, 'every replay delivered');
    expect(receiver.at(path).slice(sentBeforeRecovery).map((r) => r.eventId).sort()).toEqual(['twice-0', 'twice-1', 'twice-2']);
    await waitFor(async () => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`)).rows[0]!.n === ids.length, 'the replays recorded');
  });

  it('when the worker process gets SIGTERM under load, then it exits 0 with no job left active, and every delivery later succeeds exactly once', async () => {
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/load-${randomUUID()}`;
    receiver.plan(path, () => ({ status: 200, delayMs: 300 }));
    const env1 = { ...CRASH_ENV, WORKER_CONCURRENCY: '4', WORKER_SHUTDOWN_DEADLINE_MS: '100', SHUTDOWN_DELAY_MS: '0' };
    const first = await t.spawnApp(env1);
    await call(first.url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'] });
    const ids: string[] = [];
    for (let batch = 0; batch < 8; batch++) {
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => call(first.url, 'POST', `/v1/tenants/${tn}/events`, { id: `load-${batch}-${i}`, type: 'order.confirmed', data: { i } })));
      ids.push(...replies.map((r) => r.body.deliveries[0].id as string));
    }
    const q = openQueue();
    await waitFor(async () => receiver.at(path).length >= 8 && (await getQueueDepth(q)).total.active > 0, 'deliveries in flight');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const after = await getQueueDepth(q);
    expect(after.total.active).toBe(0); // nothing left for a stalled check to find
    expect(after.total.failed).toBe(0);
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'`);
    expect(rows[0]!.n).toBeGreaterThan(0); // it really stopped under load

    const second = await t.spawnApp({ ...CRASH_ENV, WORKER_CONCURRENCY: '16' });
    await waitFor(async () => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`)).rows[0]!.n === ids.length, 'every delivery', 60_000);
    const once = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM delivery_attempts WHERE ok GROUP BY delivery_id HAVING count(*) > 1`);
    expect(once.rows).toHaveLength(0);
    expect(new Set(receiver.at(path).map((r) => r.eventId)).size).toBe(ids.length);
    expect(await listDeadLetters(q)).toHaveLength(0);
    await second.kill('SIGTERM');
    expect((await getQueueDepth(q)).total.active).toBe(0);
  });
});
