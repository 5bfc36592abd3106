/**
 * The endpoint breaker against a real receiver that goes down and comes
 * back: a retry the breaker holds consumes no queue attempt (the queue's
 * attempts equal the real HTTP attempts the API shows), one delivery probes
 * when the cool-down ends while the others wait, and its success releases
 * them at once instead of leaving them to wait out a hold or a grown backoff.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { idempotentJobId } from '@bulwark/jobs';
import { deliveryKey } from '../src/domain/dispatcher.ts';
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

const HELD = ['bulwark_jobs_held_total', 'queue="notifications-webhooks"'] as const;

describe('endpoint breaker', () => {
  it('when the receiver is down long enough to open the breaker and comes back, then held retries consumed no attempt, one probe goes first, and its success releases the held deliveries at once', async () => {
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/breaker-${randomUUID()}`;
    let up = false;
    let probeHeld = false;
    // Down: 503. Up: the first request (the probe) is held open until the test lets it answer 200.
    receiver.plan(path, () => {
      if (!up) return 503;
      if (probeHeld) return 200;
      probeHeld = true;
      return 'hold';
    });
    // A probe keeps the others out for its timeout (60 s here): without the release they would outwait this test.
    const { app, url } = await t.startApp({ ENDPOINT_BREAKER_OPEN_AFTER: '3', ENDPOINT_BREAKER_COOLDOWN_MS: '1500', WEBHOOK_TIMEOUT_MS: '60000' });
    const endpoint = (await call(url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'] })).body.endpoint;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call(url, 'POST', `/v1/tenants/${tn}/events`, { id: `brk-${i}`, type: 'order.confirmed', data: { i } })).body.deliveries[0].id);

    await waitFor(async () => (await scrapeValue(url, ...HELD)) >= 5, 'retries held by the open breaker');
    up = true;
    const sentBeforeUp = receiver.at(path).length;
    await waitFor(() => receiver.at(path).length === sentBeforeUp + 1, 'the half-open probe');
    const probeSeenAt = Date.now();
    // Sentinel for "nobody else is sent while the probe is out": every other delivery is held past the moment the
    // probe went out. A cool-down hold ends when the cool-down does, which is no later than the probe's claim; only a
    // hold behind the probe (its verdict, or a look again while it is out) ends after the probe was seen.
    const partition = app.webhookQueue.partitionQueues.get('notifications-webhooks')!;
    const probeEventId = receiver.at(path)[sentBeforeUp]!.eventId;
    const others: string[] = [];
    for (const id of ids) if ((await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${id}`)).body.eventId !== probeEventId) others.push(id);
    expect(others).toHaveLength(ids.length - 1);
    let seen = '';
    await waitFor(async () => {
      const jobs = await Promise.all(others.map(async (id) => {
        const job = await partition.getJob(idempotentJobId(deliveryKey(id)));
        return { state: await job?.getState(), processedOn: job?.processedOn ?? 0, delay: job?.delay ?? 0 };
      }));
      seen = JSON.stringify({ probeSeenAt, jobs });
      // No job: the dispatcher has not offered that delivery yet (it offers an endpoint's backlog a few at a time), so it cannot be sent either.
      return jobs.every((j) => j.state === undefined || (j.state === 'delayed' && j.processedOn + j.delay > probeSeenAt));
    }, 'the others held behind the probe').catch((err: Error) => { throw new Error(`${err.message}: ${seen}`); });
    expect(receiver.at(path)).toHaveLength(sentBeforeUp + 1);

    receiver.releaseHeld(); // the probe succeeds
    await waitFor(async () => {
      const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = $1 AND status = 'succeeded'`, [endpoint.id]);
      return rows[0]!.n === ids.length;
    }, 'every held delivery delivered after the probe');

    const afterUp = receiver.at(path).slice(sentBeforeUp);
    expect(afterUp).toHaveLength(ids.length); // one request per delivery after recovery: no failed attempt, no duplicate
    expect(new Set(afterUp.map((r) => r.eventId)).size).toBe(ids.length);
    expect(await scrapeValue(url, 'notifications_webhook_released_total')).toBeGreaterThanOrEqual(1);
    const probeEvent = afterUp[0]!.eventId;
    expect(probeEvent).toBe(probeEventId);
    let probeAt = '';
    const successAt: string[] = [];
    for (const id of ids) {
      const d = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${id}`)).body;
      const job = (await partition.getJob(idempotentJobId(deliveryKey(id))))!;
      // Real HTTP attempts (the API) == queue attempts consumed: a breaker hold is not an attempt.
      expect({ id, attempts: d.attempts, log: d.attemptLog.length, queue: job.attemptsMade }).toEqual({ id, attempts: d.attemptLog.length, log: d.attemptLog.length, queue: d.attemptLog.length });
      const ok = d.attemptLog.find((a: { ok: boolean }) => a.ok).attemptedAt as string;
      if (d.eventId === probeEvent) probeAt = ok;
      else successAt.push(ok);
    }
    // The held deliveries succeeded after the probe had: released by its verdict, not by a hold running out.
    expect(successAt.every((at) => at >= probeAt)).toBe(true);
    const health = (await call(url, 'GET', `/v1/tenants/${tn}/endpoints/${endpoint.id}`)).body;
    expect(health.consecutiveFailures).toBe(0);
  });
});

describe('release after recovery', () => {
  it('when a recovered endpoint has deliveries the breaker kept out of the queue, then release enqueues them oldest first in per-endpoint steps (20 now, the rest a second later), not as one burst; an ordered endpoint\'s are left to the pass', async () => {
    // No workers and no dispatcher: nothing enqueues or runs the jobs but the release itself.
    const { app, url } = await t.startApp({ WORKER_ENABLED: 'false' });
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const register = async (ordered: boolean) =>
      (await call(url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}/release-${randomUUID()}`, eventTypes: ['order.confirmed'], ordered })).body.endpoint.id as string;
    const unordered = await register(false);
    const ordered = await register(true);
    const ids: Record<string, string[]> = { [unordered]: [], [ordered]: [] };
    for (let i = 0; i < 25; i++) {
      const published = await call(url, 'POST', `/v1/tenants/${tn}/events`, { id: `rel-${i}`, type: 'order.confirmed', data: { i } });
      for (const d of published.body.deliveries as { id: string; endpointId: string }[]) ids[d.endpointId]!.push(d.id);
    }
    expect(ids[unordered]).toHaveLength(25);
    const partition = app.webhookQueue.partitionQueues.get('notifications-webhooks')!;
    const jobOf = (id: string) => partition.getJob(idempotentJobId(deliveryKey(id)));
    expect(await jobOf(ids[unordered]![0]!)).toBeUndefined();

    expect(await app.dispatcher.release(unordered)).toBe(25);
    expect(await app.dispatcher.release(ordered)).toBe(0);
    const jobs = await Promise.all(ids[unordered]!.map(async (id) => {
      const job = await jobOf(id);
      return { state: await job?.getState(), delay: job?.opts.delay ?? 0 };
    }));
    // Oldest first: the first 20 run now, the last 5 one step (a second) later.
    expect(jobs.map((j) => j.delay)).toEqual([...Array<number>(20).fill(0), ...Array<number>(5).fill(1000)]);
    expect(jobs.slice(20).every((j) => j.state === 'delayed')).toBe(true);
    expect(jobs.slice(0, 20).every((j) => j.state === 'waiting' || j.state === 'prioritized')).toBe(true);
    const { rows } = await t.db.query<{ endpointId: string; n: number }>(
      `SELECT endpoint_id AS "endpointId", count(*)::int AS n FROM deliveries WHERE tenant_id = $1 AND enqueued_at IS NOT NULL GROUP BY endpoint_id`,
      [tn],
    );
    expect(rows).toEqual([{ endpointId: unordered, n: 25 }]); // claimed: a dispatcher pass does not enqueue them a second time
    expect(await jobOf(ids[ordered]![0]!)).toBeUndefined();
    expect(await scrapeValue(url, 'notifications_webhook_released_total')).toBe(25);
  });
});
