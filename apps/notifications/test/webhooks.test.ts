/**
 * Webhook delivery through the service and @bulwark/jobs against real
 * receiving HTTP servers: retries with backoff until one success, breaker,
 * dead-letter and endpoint disable with a notice, ordered delivery.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { listDeadLetters } from '@bulwark/jobs';
import { verifySignature } from '@bulwark/webhook-signature';
import { redisUrl, scrapeValue } from '@bulwark/test-support';
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

async function register(url: string, tenantId: string, path: string, extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const r = await call(url, 'POST', `/v1/tenants/${tenantId}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'], ...extra });
  expect(r.status).toBe(201);
  return { id: r.body.endpoint.id, secret: r.body.secret };
}

describe('webhook delivery', () => {
  it('when a receiver fails 5 times then succeeds, then it gets exactly one successful delivery, every attempt is logged, and each retry waited in the delayed set', async () => {
    const { app, url } = await t.startApp({ WEBHOOK_MAX_ATTEMPTS: '10' });
    const events = new QueueEvents('notifications-webhooks', { connection: { url: redisUrl() }, prefix: t.prefix });
    await events.waitUntilReady();
    let delayed = 0;
    events.on('delayed', () => delayed++);
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/flaky-${randomUUID()}`;
    receiver.plan(path, (n) => (n < 5 ? 503 : 200));
    const { secret } = await register(url, tn, path);
    const published = await call(url, 'POST', `/v1/tenants/${tn}/events`, { id: 'evt-1', type: 'order.confirmed', data: { orderId: 'o-1' } });
    const deliveryId = published.body.deliveries[0].id as string;
    await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${deliveryId}`)).body.status === 'succeeded', 'the delivery to succeed');
    const d = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${deliveryId}`)).body;
    expect(d).toMatchObject({ attempts: 6, lastStatusCode: 200, status: 'succeeded' });
    expect(d.attemptLog.map((a: { attempt: number; statusCode: number; ok: boolean }) => [a.attempt, a.statusCode, a.ok])).toEqual([
      [1, 503, false],
      [2, 503, false],
      [3, 503, false],
      [4, 503, false],
      [5, 503, false],
      [6, 200, true],
    ]);
    expect(d.attemptLog[0].responseSnippet).toBe('failing with 503');
    const got = receiver.at(path);
    expect(got).toHaveLength(6);
    expect(new Set(got.map((r) => r.eventId))).toEqual(new Set(['evt-1'])); // the same event every time
    for (const r of got) expect(verifySignature(r.signature, r.body, [secret])).toMatchObject({ ok: true });
    await waitFor(() => delayed >= 5, 'five delayed retries');
    expect(delayed).toBe(5); // each failure went through the backoff (delayed set), none retried at once
    expect(await listDeadLetters(app.webhookQueue)).toHaveLength(0);
    expect(await scrapeValue(url, 'notifications_webhook_attempts_total', 'outcome="succeeded"')).toBe(1);
    expect(await scrapeValue(url, 'notifications_webhook_attempts_total', 'outcome="failed"')).toBe(5);
    // Nothing after the success: a test event sent now arrives after anything still on its way would have.
    const endpointId = d.endpointId as string;
    expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpointId}/test`, {})).status).toBe(202);
    await waitFor(() => receiver.at(path).some((r) => JSON.parse(r.body).type === 'bulwark.test'), 'the sentinel test event');
    await waitFor(async () => ((await call(url, 'GET', `/v1/tenants/${tn}/deliveries?status=pending`)).body.deliveries as unknown[]).length === 0, 'nothing pending');
    expect(receiver.at(path).map((r) => r.eventId === 'evt-1')).toEqual([true, true, true, true, true, true, false]);
    await events.close();
  });

  it('when a receiver always fails, then its endpoint is disabled after the threshold with a notice to the tenant\'s other endpoints, and the delivery ends in the DLQ; enabled again, it gets the event published meanwhile', async () => {
    const { app, url } = await t.startApp({ WEBHOOK_MAX_ATTEMPTS: '20', ENDPOINT_DISABLE_AFTER: '3' });
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const down = `/down-${randomUUID()}`;
    const ops = `/ops-${randomUUID()}`;
    receiver.plan(down, () => 500);
    const endpoint = await register(url, tn, down);
    await register(url, tn, ops, { eventTypes: ['bulwark.endpoint.disabled'] });
    const published = await call(url, 'POST', `/v1/tenants/${tn}/events`, { type: 'order.confirmed', data: { orderId: 'o-2' } });
    const deliveryId = published.body.deliveries[0].id as string;
    await waitFor(async () => (await listDeadLetters(app.webhookQueue)).length === 1, 'the dead letter');
    const [dead] = await listDeadLetters<{ deliveryId: string }>(app.webhookQueue);
    expect(dead!.data).toEqual({ deliveryId });
    expect(dead!.reason).toBe('non-retryable');
    expect(receiver.at(down)).toHaveLength(3);
    const e = (await call(url, 'GET', `/v1/tenants/${tn}/endpoints/${endpoint.id}`)).body;
    expect(e).toMatchObject({ status: 'disabled', consecutiveFailures: 3, disabledReason: 'disabled after 3 consecutive failed deliveries' });
    const d = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${deliveryId}`)).body;
    expect(d).toMatchObject({ status: 'dead', attempts: 3 });
    await waitFor(() => receiver.at(ops).length === 1, 'the notice');
    expect(JSON.parse(receiver.at(ops)[0]!.body)).toMatchObject({ type: 'bulwark.endpoint.disabled', data: { endpointId: endpoint.id, consecutiveFailures: 3 } });
    expect(await scrapeValue(url, 'notifications_endpoint_health_events_total', 'event="disabled"')).toBe(1);
    // Nothing more is sent to a disabled endpoint; a new event creates no delivery but is kept.
    const later = await call(url, 'POST', `/v1/tenants/${tn}/events`, { type: 'order.confirmed', data: {} });
    expect(later.body.deliveries).toHaveLength(0);
    // Fixed and enabled, the event missed while disabled goes out, and a replay of the dead delivery goes through.
    receiver.plan(down, () => 200);
    const enabled = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/enable`, {});
    expect(enabled.body).toMatchObject({ endpoint: { status: 'active', consecutiveFailures: 0 }, recovery: { recovered: 1 }, missed: { count: 0 } });
    const replay = await call(url, 'POST', `/v1/tenants/${tn}/deliveries/${deliveryId}/replay`);
    await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${replay.body.deliveryIds[0]}`)).body.status === 'succeeded', 'the replay');
    await waitFor(() => receiver.at(down).some((r) => r.eventId === later.body.eventId), 'the missed event');
    for (const r of receiver.at(down).slice(3)) expect(verifySignature(r.signature, r.body, [endpoint.secret])).toMatchObject({ ok: true });
  });

  it('when the attempts run out, then the delivery is dead and its job is in the DLQ as exhausted', async () => {
    const { app, url } = await t.startApp({ WEBHOOK_MAX_ATTEMPTS: '3' });
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/never-${randomUUID()}`;
    receiver.plan(path, () => 502);
    await register(url, tn, path);
    const published = await call(url, 'POST', `/v1/tenants/${tn}/events`, { type: 'order.confirmed', data: {} });
    await waitFor(async () => (await listDeadLetters(app.webhookQueue)).length === 1, 'the dead letter');
    const [dead] = await listDeadLetters(app.webhookQueue);
    expect(dead!.reason).toBe('exhausted');
    expect(dead!.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect((await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${published.body.deliveries[0].id}`)).body).toMatchObject({ status: 'dead', attempts: 3, lastStatusCode: 502 });
  });

  it('when consecutive failures reach the breaker threshold, then the breaker opens, holds attempts back, and a success closes it', async () => {
    const { url } = await t.startApp({ ENDPOINT_BREAKER_OPEN_AFTER: '2', ENDPOINT_BREAKER_COOLDOWN_MS: '300' });
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/breaker-${randomUUID()}`;
    receiver.plan(path, (n) => (n < 2 ? 500 : 200));
    const endpoint = await register(url, tn, path);
    const published = await call(url, 'POST', `/v1/tenants/${tn}/events`, { type: 'order.confirmed', data: {} });
    await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${published.body.deliveries[0].id}`)).body.status === 'succeeded', 'the delivery');
    expect(await scrapeValue(url, 'notifications_endpoint_health_events_total', 'event="breaker-opened"')).toBe(1);
    expect(await scrapeValue(url, 'notifications_endpoint_health_events_total', 'event="recovered"')).toBe(1);
    expect(receiver.at(path)).toHaveLength(3);
    expect((await call(url, 'GET', `/v1/tenants/${tn}/endpoints/${endpoint.id}`)).body).toMatchObject({ status: 'active', consecutiveFailures: 0, breakerOpenUntil: null });
  });

  it('when an ordered endpoint fails on an event, then later events wait and arrive in order after it', async () => {
    const { url } = await t.startApp({ WORKER_CONCURRENCY: '8' });
    const tn = `t-${randomUUID().slice(0, 8)}`;
    const path = `/ordered-${randomUUID()}`;
    receiver.plan(path, (n) => (n < 3 ? 500 : 200));
    await register(url, tn, path, { ordered: true });
    for (let i = 1; i <= 5; i++) await call(url, 'POST', `/v1/tenants/${tn}/events`, { id: `e${i}`, type: 'order.confirmed', data: { i } });
    await waitFor(async () => ((await call(url, 'GET', `/v1/tenants/${tn}/deliveries?status=succeeded`)).body.deliveries as unknown[]).length === 5, 'five deliveries');
    expect(receiver.at(path).map((r) => r.eventId)).toEqual(['e1', 'e1', 'e1', 'e1', 'e2', 'e3', 'e4', 'e5']);
  });
});
