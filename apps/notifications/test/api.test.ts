/**
 * The HTTP API on a real server, PostgreSQL and Redis: endpoint registration
 * (SSRF guard), update/disable/enable, secret rotation, test events, the
 * delivery log and replay, and problem+json for every bad input.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { verifySignature } from '@bulwark/webhook-signature';
import { call, Receiver, setupNotifications, waitFor, type TestNotifications } from './support.ts';

let t: TestNotifications;
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
  url = (await t.startApp()).url;
});
afterEach(async () => {
  await t.cleanup();
});

async function register(tenantId: string, path: string, extra: Record<string, unknown> = {}) {
  const r = await call(url, 'POST', `/v1/tenants/${tenantId}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'], ...extra });
  expect(r.status).toBe(201);
  return r.body as { endpoint: { id: string }; secret: string };
}

describe('endpoints', () => {
  it('when an endpoint is registered, listed, updated, disabled and enabled, then each answer reflects it and the secret is shown only at creation', async () => {
    const tn = tenant();
    const { endpoint, secret } = await register(tn, '/a', { description: 'orders', ordered: true });
    expect(secret).toMatch(/^whsec_/);
    const list = await call(url, 'GET', `/v1/tenants/${tn}/endpoints`);
    expect(list.body.endpoints).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect((await call(url, 'GET', `/v1/tenants/other/endpoints`)).body.endpoints).toHaveLength(0);
    const patched = await call(url, 'PATCH', `/v1/tenants/${tn}/endpoints/${endpoint.id}`, { eventTypes: ['order.confirmed', 'payment.failed'], ordered: false });
    expect(patched.body).toMatchObject({ eventTypes: ['order.confirmed', 'payment.failed'], ordered: false, status: 'active' });
    const disabled = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/disable`);
    expect(disabled.body).toMatchObject({ status: 'disabled', disabledReason: 'disabled by an operator' });
    const test = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/test`, {});
    expect(test.status).toBe(409);
    expect(test.body.type).toMatch(/notifications-endpoint-disabled$/);
    const enabled = await call(url, 'PATCH', `/v1/tenants/${tn}/endpoints/${endpoint.id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ status: 'active', disabledReason: null, consecutiveFailures: 0 });
  });

  it('when the URL is invalid or targets loopback/private addresses without the allow flag, then 4xx problem+json and nothing is stored', async () => {
    await t.cleanup();
    t = await setupNotifications();
    const strict = (await t.startApp({ SSRF_ALLOW_LOOPBACK: 'false' })).url;
    const tn = tenant();
    const cases: [string, number, RegExp][] = [
      ['not a url', 422, /notifications-invalid-url$/],
      ['ftp://example.com/x', 422, /notifications-invalid-url$/],
      ['http://user:pw@example.com/', 422, /notifications-invalid-url$/],
      [`${receiver.url}/hook`, 422, /notifications-url-forbidden$/],
      ['http://localhost:9/x', 422, /notifications-url-forbidden$/],
      ['http://[::1]/x', 422, /notifications-url-forbidden$/],
      ['http://10.0.0.5/x', 422, /notifications-url-forbidden$/],
      ['http://169.254.169.254/latest/meta-data', 422, /notifications-url-forbidden$/],
      ['http://[64:ff9b::a9fe:a9fe]/', 422, /notifications-url-forbidden$/],
      ['http://[::a9fe:a9fe]/', 422, /notifications-url-forbidden$/],
      ['http://198.18.0.1/', 422, /notifications-url-forbidden$/],
      ['http://192.0.2.1/', 422, /notifications-url-forbidden$/],
      ['http://no-such-host.invalid/hook', 422, /notifications-host-unresolvable$/], // getaddrinfo ENOTFOUND was a 500
    ];
    for (const [u, status, type] of cases) {
      const r = await call(strict, 'POST', `/v1/tenants/${tn}/endpoints`, { url: u, eventTypes: ['x'] });
      expect([u, r.status, r.headers.get('content-type')]).toEqual([u, status, expect.stringContaining('application/problem+json')]);
      expect(r.body.type).toMatch(type);
    }
    expect((await call(strict, 'GET', `/v1/tenants/${tn}/endpoints`)).body.endpoints).toHaveLength(0);
  });

  it('when requests are malformed, then 400/404/415 problem+json', async () => {
    const tn = tenant();
    const bad = await call(url, 'POST', `/v1/tenants/${tn}/endpoints`, { url: `${receiver.url}/x`, eventTypes: [], extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['', 'eventTypes']);
    expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints`, 'not json', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await call(url, 'GET', `/v1/tenants/bad tenant!/endpoints`)).status).toBe(400);
    expect((await call(url, 'GET', `/v1/tenants/${tn}/endpoints/${randomUUID()}`)).status).toBe(404);
    expect((await call(url, 'GET', `/v1/tenants/${tn}/endpoints/not-a-uuid`)).status).toBe(400);
    expect((await call(url, 'PATCH', `/v1/tenants/${tn}/endpoints/${randomUUID()}`, {})).status).toBe(400);
    expect((await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${randomUUID()}/rotate-secret`, {})).status).toBe(404);
    expect((await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${randomUUID()}`)).status).toBe(404);
    expect((await call(url, 'POST', `/v1/tenants/${tn}/deliveries/${randomUUID()}/replay`)).status).toBe(404);
    const range = await call(url, 'POST', `/v1/tenants/${tn}/replay`, { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(range.status).toBe(400);
    expect((await call(url, 'GET', `/v1/tenants/${tn}/deliveries?status=bogus`)).status).toBe(400);
  });

  it('when an event is larger than the payload limit, then 413 and no delivery', async () => {
    await t.cleanup();
    t = await setupNotifications();
    const small = (await t.startApp({ WEBHOOK_MAX_PAYLOAD_BYTES: '1024' })).url;
    url = small;
    const tn = tenant();
    await register(tn, `/big-${randomUUID()}`);
    const r = await call(small, 'POST', `/v1/tenants/${tn}/events`, { type: 'order.confirmed', data: { blob: 'x'.repeat(2000) } });
    expect(r.status).toBe(413);
    expect(r.body.type).toMatch(/notifications-payload-too-large$/);
    expect((await call(small, 'GET', `/v1/tenants/${tn}/deliveries`)).body.deliveries).toHaveLength(0);
  });
});

describe('events, delivery log and replay', () => {
  it('when an event is published, then only matching endpoints get it once, signed, and the log shows the attempt', async () => {
    const tn = tenant();
    const path = `/m-${randomUUID()}`;
    const other = `/o-${randomUUID()}`;
    const { endpoint, secret } = await register(tn, path);
    await register(tn, other, { eventTypes: ['payment.failed'] });
    const wildcard = `/w-${randomUUID()}`;
    await register(tn, wildcard, { eventTypes: ['*'] });
    const eventId = `evt-${randomUUID()}`;
    const first = await call(url, 'POST', `/v1/tenants/${tn}/events`, { id: eventId, type: 'order.confirmed', data: { orderId: 'o-1' } });
    expect(first.status).toBe(202);
    expect(first.body.deliveries).toHaveLength(2);
    const again = await call(url, 'POST', `/v1/tenants/${tn}/events`, { id: eventId, type: 'order.confirmed', data: { orderId: 'o-1' } });
    expect(again.body.deliveries).toHaveLength(0); // once per endpoint and event id
    await waitFor(() => receiver.at(path).length === 1 && receiver.at(wildcard).length === 1, 'both deliveries');
    expect(receiver.at(other)).toHaveLength(0);
    const got = receiver.at(path)[0]!;
    expect(verifySignature(got.signature, got.body, [secret])).toMatchObject({ ok: true });
    expect(JSON.parse(got.body)).toMatchObject({ id: eventId, type: 'order.confirmed', data: { orderId: 'o-1' } });
    const deliveryId = first.body.deliveries.find((d: { endpointId: string }) => d.endpointId === endpoint.id).id;
    await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${deliveryId}`)).body.status === 'succeeded', 'delivery recorded');
    const detail = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries/${deliveryId}`)).body;
    expect(detail).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, eventId });
    expect(detail.attemptLog).toEqual([expect.objectContaining({ attempt: 1, ok: true, statusCode: 200, responseSnippet: 'ok' })]);
    const log = await call(url, 'GET', `/v1/tenants/${tn}/deliveries?endpointId=${endpoint.id}&status=succeeded`);
    expect(log.body.deliveries.map((d: { id: string }) => d.id)).toEqual([deliveryId]);
  });

  it('when a secret is rotated, then deliveries carry both signatures until the grace ends, and a test event reaches the endpoint', async () => {
    const tn = tenant();
    const path = `/r-${randomUUID()}`;
    const { endpoint, secret: oldSecret } = await register(tn, path);
    const rotated = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/rotate-secret`, { graceSeconds: 3600 });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(rotated.body.version).toBe(2);
    const test = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/test`, { data: { hello: 'world' } });
    expect(test.status).toBe(202);
    await waitFor(() => receiver.at(path).length === 1, 'test event');
    const got = receiver.at(path)[0]!;
    expect(JSON.parse(got.body)).toMatchObject({ type: 'bulwark.test', data: { hello: 'world' } });
    expect(verifySignature(got.signature, got.body, [newSecret])).toMatchObject({ ok: true });
    expect(verifySignature(got.signature, got.body, [oldSecret])).toMatchObject({ ok: true });
    // A second rotation without grace: only the newest secret signs; the first is gone.
    const third = (await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/rotate-secret`, { graceSeconds: 0 })).body.secret as string;
    await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/test`, {});
    await waitFor(() => receiver.at(path).length === 2, 'second test event');
    const next = receiver.at(path)[1]!;
    expect(verifySignature(next.signature, next.body, [third])).toMatchObject({ ok: true });
    expect(verifySignature(next.signature, next.body, [oldSecret])).toMatchObject({ ok: false });
    expect(verifySignature(next.signature, next.body, [newSecret])).toMatchObject({ ok: false });
  });

  it('when one delivery or a time range is replayed, then new deliveries with the same event id are sent and linked to the originals', async () => {
    const tn = tenant();
    const path = `/p-${randomUUID()}`;
    const { endpoint } = await register(tn, path);
    const from = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 3; i++) await call(url, 'POST', `/v1/tenants/${tn}/events`, { id: `e${i}`, type: 'order.confirmed', data: { i } });
    await waitFor(() => receiver.at(path).length === 3, 'three deliveries');
    const to = new Date(Date.now() + 1000).toISOString();
    const originals = (await call(url, 'GET', `/v1/tenants/${tn}/deliveries`)).body.deliveries as { id: string }[];
    const one = await call(url, 'POST', `/v1/tenants/${tn}/deliveries/${originals[0]!.id}/replay`);
    expect(one.status).toBe(202);
    await waitFor(() => receiver.at(path).length === 4, 'replayed one');
    expect(receiver.at(path)[3]!.eventId).toBe('e0');
    const settled = async () => ((await call(url, 'GET', `/v1/tenants/${tn}/deliveries?status=pending`)).body.deliveries as unknown[]).length === 0;
    await waitFor(settled, 'replay recorded');
    const range = await call(url, 'POST', `/v1/tenants/${tn}/endpoints/${endpoint.id}/replay`, { from, to, status: 'succeeded' });
    expect(range.body.replayed).toBe(4);
    await waitFor(() => receiver.at(path).length === 8, 'replayed the range');
    const page1 = await call(url, 'GET', `/v1/tenants/${tn}/deliveries?limit=5`);
    expect(page1.body.deliveries).toHaveLength(5);
    const page2 = await call(url, 'GET', `/v1/tenants/${tn}/deliveries?limit=5&after=${page1.body.next}`);
    expect(page2.body.deliveries).toHaveLength(3);
    expect(page2.body.next).toBeNull();
    const replays = [...page1.body.deliveries, ...page2.body.deliveries].filter((d: { replayOf: string | null }) => d.replayOf !== null);
    expect(replays).toHaveLength(5);
  });
});
