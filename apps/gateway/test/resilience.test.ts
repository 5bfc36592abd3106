/**
 * Timeouts, retries, circuit breaker and bulkhead against real upstream
 * servers that hang, fail or recover on command. No timed assertions: tests
 * wait on events (requests seen, breaker state) and assert on outcomes.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startGateway, startUpstream, type TestGateway, type Upstream } from './support.ts';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function upstreamWith(handler: Parameters<typeof startUpstream>[0]): Promise<Upstream> {
  const u = await startUpstream(handler);
  running.push({ stop: () => u.close() });
  return u;
}

async function gatewayFor(routes: unknown): Promise<TestGateway> {
  const gw = await startGateway(routes);
  running.push(gw);
  return gw;
}

async function get(url: string, init: Parameters<typeof request>[1] = {}) {
  const res = await request(url, init);
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text };
}

async function metric(gw: TestGateway, pattern: RegExp): Promise<number> {
  const text = await (await request(`${gw.url}/metrics`)).body.text();
  return text.split('\n').filter((l) => pattern.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

describe('timeouts', () => {
  it('when the upstream does not answer within the route timeout, then 504 problem+json and the timeout is counted', async () => {
    const slow = await upstreamWith(() => undefined); // never answers
    const gw = await gatewayFor({ upstreams: { slow: { url: slow.url, timeoutMs: 200 } }, routes: [{ id: 'slow', match: { prefix: '/' }, upstream: 'slow' }] });
    const res = await get(`${gw.url}/anything`);
    expect(res.status).toBe(504);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect((res.body as Record<string, unknown>).code).toBe('UPSTREAM_TIMEOUT');
    expect(await metric(gw, /^gateway_upstream_requests_total\{.*outcome="timeout"/)).toBe(1);
  });
});

describe('client leaving', () => {
  it('when the client closes its connection while the upstream is still working, then the upstream request is aborted, the bulkhead slot is freed and the request logs 499', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const slow = await upstreamWith((req) => {
      req.socket.once('close', upstreamClosed); // the gateway cut its upstream connection
      arrived();
    }); // never answers by itself
    const gw = await gatewayFor({ upstreams: { slow: { url: slow.url, timeoutMs: 60_000, bulkhead: { maxConcurrent: 1 } } }, routes: [{ id: 'slow', match: { prefix: '/' }, upstream: 'slow' }] });
    const controller = new AbortController();
    const pending = request(`${gw.url}/leaving`, { signal: controller.signal, headers: { 'x-request-id': 'req-leaving' } }).catch((err: unknown) => err);
    await reached;
    controller.abort();
    expect((await pending) as { name?: string }).toMatchObject({ name: 'AbortError' });
    await closed;
    // The only bulkhead slot is free again: the next request reaches the upstream (which holds it too).
    const second = request(`${gw.url}/second`, { headersTimeout: 60_000 }).catch((err: unknown) => err);
    await new Promise<void>((resolve) => {
      const check = (): void => void (slow.seen.length >= 2 ? resolve() : setTimeout(check, 10));
      check();
    });
    expect(gw.logs.find((l) => l.msg === 'request completed' && l.reqId === 'req-leaving')).toMatchObject({ status: 499, route: 'proxy:slow' });
    await slow.close();
    await second;
  });
});

describe('retries', () => {
  it('when a GET meets 503 twice, then it is retried and the third answer reaches the client', async () => {
    let calls = 0;
    const flaky = await upstreamWith((_req, res) => {
      calls++;
      res.statusCode = calls < 3 ? 503 : 200;
      res.end(calls < 3 ? 'busy' : 'ok');
    });
    const gw = await gatewayFor({ upstreams: { flaky: { url: flaky.url, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } } }, routes: [{ id: 'f', match: { prefix: '/' }, upstream: 'flaky' }] });
    const res = await get(`${gw.url}/x`);
    expect([res.status, res.body, calls]).toEqual([200, 'ok', 3]);
  });

  it('when a POST without Idempotency-Key meets 503, then it is not retried; with a key it is', async () => {
    const failing = await upstreamWith((_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    const gw = await gatewayFor({ upstreams: { u: { url: failing.url, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, breaker: { enabled: false } } }, routes: [{ id: 'u', match: { prefix: '/' }, upstream: 'u' }] });
    expect((await get(`${gw.url}/x`, { method: 'POST', body: '{"a":1}' })).status).toBe(503);
    expect(failing.seen.length).toBe(1);
    expect((await get(`${gw.url}/x`, { method: 'POST', body: '{"a":1}', headers: { 'idempotency-key': 'k-1' } })).status).toBe(503);
    expect(failing.seen.length).toBe(4);
    expect(failing.seen.slice(1).every((s) => s.body.toString() === '{"a":1}')).toBe(true);
  });

  it('when retries would exceed the budget, then they stop being sent', async () => {
    const failing = await upstreamWith((_req, res) => {
      res.statusCode = 502;
      res.end();
    });
    const gw = await gatewayFor({
      upstreams: { u: { url: failing.url, retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0, budgetRatio: 0.2, minRetriesPerWindow: 0, budgetWindowSeconds: 600 }, breaker: { enabled: false } } },
      routes: [{ id: 'u', match: { prefix: '/' }, upstream: 'u' }],
    });
    for (let i = 0; i < 20; i++) await get(`${gw.url}/x`);
    expect(failing.seen.length).toBeLessThanOrEqual(20 + 4);
    expect(await metric(gw, /^gateway_upstream_retries_total\{.*reason="budget_exhausted"/)).toBeGreaterThanOrEqual(16);
  });
});

describe('circuit breaker', () => {
  it('when the upstream fails every call, then the breaker opens at the volume threshold, answers 503 fast, and closes after a healthy half-open probe', async () => {
    let healthy = false;
    const u = await upstreamWith((_req, res) => {
      res.statusCode = healthy ? 200 : 500;
      res.end(healthy ? 'ok' : 'boom');
    });
    const gw = await gatewayFor({
      // resetTimeoutMs well above the time five refused calls take on a loaded machine, or the breaker half-opens mid-check.
      upstreams: { u: { url: u.url, breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 2000, rollingWindowMs: 60_000 } } },
      routes: [{ id: 'u', match: { prefix: '/' }, upstream: 'u' }],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await get(`${gw.url}/x`)).status);
    expect(statuses.slice(0, 5)).toEqual([500, 500, 500, 500, 500]);
    expect(statuses.slice(5)).toEqual([503, 503, 503, 503, 503]);
    expect(u.seen.length).toBe(5); // open: nothing more reached the upstream
    const open = await get(`${gw.url}/x`);
    expect((open.body as Record<string, unknown>).code).toBe('CIRCUIT_OPEN');
    expect(open.headers['retry-after']).toBe('2');
    expect(gw.logs.some((l) => l.msg === 'circuit breaker open' && l.upstream === 'u')).toBe(true);

    healthy = true;
    const upstream = gw.gateway.upstreams.get('u')!;
    await new Promise<void>((resolve) => upstream.breaker!.once('halfOpen', () => resolve()));
    expect((await get(`${gw.url}/x`)).status).toBe(200);
    expect(upstream.breakerState).toBe('closed');
    expect(gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('circuit breaker')).map((l) => l.state)).toEqual(['open', 'half-open', 'closed']);
    expect(await metric(gw, /^gateway_breaker_transitions_total\{.*to="open"/)).toBe(1);
  });
});

describe('bulkhead', () => {
  it('when the upstream has its maximum in flight, then the next request gets 503 with Retry-After at once', async () => {
    const held: (() => void)[] = [];
    const u = await upstreamWith((_req, res) => held.push(() => res.end('done')));
    const gw = await gatewayFor({ upstreams: { u: { url: u.url, bulkhead: { maxConcurrent: 2, retryAfterSeconds: 2 } } }, routes: [{ id: 'u', match: { prefix: '/' }, upstream: 'u' }] });
    const inflight = [get(`${gw.url}/a`), get(`${gw.url}/b`)];
    while (u.seen.length < 2) await new Promise((r) => setTimeout(r, 10));
    const refused = await get(`${gw.url}/c`);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect((refused.body as Record<string, unknown>).code).toBe('BULKHEAD_FULL');
    for (const release of held) release();
    expect((await Promise.all(inflight)).map((r) => r.status)).toEqual([200, 200]);
    expect(u.seen.length).toBe(2);
  });
});
