/**
 * Input no store can take is refused at the edge (the kit's checks) before
 * anything is written or queued: U+0000 in query, event id and endpoint
 * description, and JSON nested past BODY_MAX_DEPTH in event `data`, which
 * the schema leaves open; the same in a signed provider event, which the
 * handler parses itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SIGNATURE_HEADER, signatureHeader } from '@bulwark/webhook-signature';
import { PROBLEM } from '@bulwark/test-support';
import { call, PROVIDER_SECRET, setupNotifications, type TestNotifications } from './support.ts';

const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('bad input to the notifications API', () => {
  let t: TestNotifications;
  let url: string;
  const tenant = '/v1/tenants/t-bad';
  beforeAll(async () => {
    t = await setupNotifications();
    ({ url } = await t.startApp());
    const r = await call(url, 'POST', `${tenant}/endpoints`, { url: 'http://127.0.0.1:9/hook', eventTypes: ['order.confirmed'] });
    expect(r.status).toBe(201);
  });
  afterAll(() => t.cleanup());

  const count = async (table: string): Promise<number> => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

  it('when the deliveries query has eventType=%00, then 400 problem+json names the query parameter', async () => {
    const r = await call(url, 'GET', `${tenant}/deliveries?eventType=%00`);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'query', path: 'eventType' }] });
  });

  it('when an event id holds \\u0000, then 400 and no delivery is created', async () => {
    const r = await call(url, 'POST', `${tenant}/events`, { id: 'evt\u00001', type: 'order.confirmed', data: {} });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'body', path: 'id' }] });
    expect(await count('deliveries')).toBe(0);
  });

  it('when event data holds \\u0000 or an unpaired surrogate deep inside, then 400 and no delivery is created', async () => {
    const r = await call(url, 'POST', `${tenant}/events`, `{"type":"order.confirmed","data":{"a":[{"b":"x\\u0000"},{"c\\udc00":1}]}}`);
    expect(r.status).toBe(400);
    expect(r.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['data.a.0.b', 'data.a.1.c\udc00']);
    expect(await count('deliveries')).toBe(0);
  });

  it('when an endpoint description holds \\u0000, then 400 and no endpoint is added', async () => {
    const before = await count('endpoints');
    const r = await call(url, 'POST', `${tenant}/endpoints`, { url: 'http://127.0.0.1:9/other', eventTypes: ['order.confirmed'], description: 'ops\u0000' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'body', path: 'description' }] });
    expect(await count('endpoints')).toBe(before);
  });

  it('when an endpoint host cannot be a DNS name or does not resolve, then 422 problem+json (getaddrinfo EINVAL was a 503, ENOTFOUND a 500) and nothing changes', async () => {
    const before = await count('endpoints');
    const long = await call(url, 'POST', `${tenant}/endpoints`, { url: `http://${`${'a'.repeat(60)}.`.repeat(5)}example/hook`, eventTypes: ['order.confirmed'] });
    expect([long.status, long.headers.get('content-type'), long.body.code]).toEqual([422, PROBLEM, 'NOTIFICATIONS_INVALID_URL']);
    const created = await call(url, 'POST', `${tenant}/endpoints`, { url: 'http://127.0.0.1:9/patched', eventTypes: ['order.patched'] });
    expect(created.status).toBe(201);
    const id = created.body.endpoint.id as string;
    const patched = await call(url, 'PATCH', `${tenant}/endpoints/${id}`, { url: 'http://no-such-host.invalid/hook' });
    expect([patched.status, patched.headers.get('content-type'), patched.body.code]).toEqual([422, PROBLEM, 'NOTIFICATIONS_HOST_UNRESOLVABLE']);
    expect((await call(url, 'GET', `${tenant}/endpoints/${id}`)).body.url).toBe('http://127.0.0.1:9/patched');
    expect(await count('endpoints')).toBe(before + 1);
  });

  it('when event data nests 5,000 or 10,000 levels, then 400 JSON_TOO_DEEP problem+json and no delivery is created', async () => {
    for (const depth of [5_000, 10_000]) {
      const r = await call(url, 'POST', `${tenant}/events`, `{"type":"order.confirmed","data":${deep(depth)}}`);
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toBe(PROBLEM);
      expect(r.body).toMatchObject({ code: 'JSON_TOO_DEEP', maxDepth: 64 });
    }
    expect(await count('deliveries')).toBe(0);
  });

  it('when a signed provider event names a message id with \\u0000, then 400 problem+json, not a 500 the provider retries', async () => {
    const body = JSON.stringify({ type: 'bounced', messageId: '<m\u0000@example>', detail: 'x' });
    const r = await call(url, 'POST', '/v1/providers/smtp/events', body, { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(body, [PROVIDER_SECRET]) });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'body', path: 'messageId' }] });
    expect(await count('suppressions')).toBe(0);
  });

  it('when event data nests as deep as the limit allows, then it is published', async () => {
    const r = await call(url, 'POST', `${tenant}/events`, `{"type":"order.confirmed","data":${deep(63)}}`);
    expect(r.status).toBe(202);
    expect(await count('deliveries')).toBe(1);
  });
});
