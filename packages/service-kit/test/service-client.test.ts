/**
 * The shared service-to-service client against a real HTTP server: below 500
 * an answer (4xx included) resolves; 5xx, timeouts, refused connections and
 * an open circuit reject with TransientCallError naming the outcome; a token
 * provider's token travels as a bearer token and a 401 is retried once with
 * a new token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenProvider } from '@bulwark/service-kit/service-auth';
import { createServiceClient, TransientCallError, type CallOutcome, type ServiceClientOptions } from '@bulwark/service-kit/service-client';

let server: Server;
let base: string;
const seen: IncomingMessage[] = [];
/** The one bearer token /v1/guarded accepts. */
let accepted = 'Bearer t1';

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    const json = (status: number, body: unknown, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
    if (req.url === '/v1/ok') return json(200, { echo: req.headers['idempotency-key'], tenant: req.headers['x-auth-tenant'] });
    if (req.url === '/v1/declined') return json(402, { code: 'PAYMENT_DECLINED' }, 'application/problem+json');
    if (req.url === '/v1/text') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('plain');
    if (req.url === '/v1/boom') return json(503, { code: 'DOWN' }, 'application/problem+json');
    if (req.url === '/v1/guarded') return req.headers.authorization === accepted ? json(200, { ok: true }) : json(401, { code: 'TOKEN_INVALID' }, 'application/problem+json');
    // /v1/hang: never answers; the caller's timeout ends it.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const silentLog = { info() {}, warn() {} };

function client(overrides: Partial<ServiceClientOptions> = {}) {
  const outcomes: CallOutcome[] = [];
  const c = createServiceClient({
    name: 'callee',
    baseUrl: `${base}/`,
    timeoutMs: 2_000,
    breaker: { errorThresholdPercentage: 50, volumeThreshold: 2, resetTimeoutMs: 60_000 },
    log: silentLog,
    onOutcome: (o) => outcomes.push(o),
    ...overrides,
  });
  return { c, outcomes };
}

/** Tokens t1, t2, … ; invalidate drops the current one. */
function countingTokens(): TokenProvider & { issued: number } {
  let current: string | undefined;
  const p = {
    issued: 0,
    fetches: 0,
    async token() {
      current ??= `t${++p.issued}`;
      return current;
    },
    async authorization() {
      return `Bearer ${await p.token()}`;
    },
    invalidate(t: string) {
      if (t === current) current = undefined;
    },
  };
  return p;
}

describe('service client', () => {
  it('when the callee answers 2xx or 4xx, then the call resolves with status and parsed body, carrying the key and extra headers', async () => {
    const { c, outcomes } = client();
    const ok = await c.call({ method: 'POST', path: '/v1/ok', body: {}, idempotencyKey: 'k-1', headers: { 'x-auth-tenant': 'acme' } });
    expect(ok).toMatchObject({ status: 200, body: { echo: 'k-1', tenant: 'acme' } });
    expect(seen.at(-1)!.headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/json' });
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
    expect(await c.call({ method: 'POST', path: '/v1/declined' })).toMatchObject({ status: 402, body: { code: 'PAYMENT_DECLINED' } });
    expect(await c.call({ method: 'GET', path: '/v1/text' })).toMatchObject({ status: 200, body: 'plain' });
    expect(outcomes).toEqual(['2xx', '4xx', '2xx']);
    expect(c.breakerState).toBe('closed');
    c.close();
  });

  it('when the callee answers 5xx repeatedly, then each call is transient and the open circuit refuses the next without sending it', async () => {
    const { c, outcomes } = client();
    await expect(c.call({ method: 'GET', path: '/v1/boom' })).rejects.toMatchObject({ name: 'TransientCallError', outcome: '5xx', status: 503 });
    await expect(c.call({ method: 'GET', path: '/v1/boom' })).rejects.toBeInstanceOf(TransientCallError);
    expect(c.breakerState).toBe('open');
    const before = seen.length;
    await expect(c.call({ method: 'GET', path: '/v1/ok' })).rejects.toMatchObject({ outcome: 'circuit_open', reason: 'callee circuit open' });
    expect(seen.length).toBe(before);
    expect(outcomes).toEqual(['5xx', '5xx', 'circuit_open']);
    c.close();
  });

  it('when the callee does not answer in time or cannot be reached, then timeout and network outcomes', async () => {
    const { c, outcomes } = client({ breakerEnabled: false });
    await expect(c.call({ method: 'GET', path: '/v1/hang', timeoutMs: 50 })).rejects.toMatchObject({ outcome: 'timeout', reason: 'callee timeout' });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const gone = client({ baseUrl: `http://127.0.0.1:${port}` });
    await expect(gone.c.call({ method: 'GET', path: '/v1/ok' })).rejects.toMatchObject({ outcome: 'network', reason: 'callee unreachable' });
    expect(outcomes).toEqual(['timeout']);
    c.close();
    gone.c.close();
  });

  it('when a token provider is given, then the token travels as a bearer; a 401 fetches a new token once, and a second 401 is transient', async () => {
    const tokens = countingTokens();
    const { c, outcomes } = client({ tokens });
    accepted = 'Bearer t1';
    expect(await c.call({ method: 'GET', path: '/v1/guarded' })).toMatchObject({ status: 200 });
    accepted = 'Bearer t2'; // the callee no longer takes t1
    expect(await c.call({ method: 'GET', path: '/v1/guarded' })).toMatchObject({ status: 200 });
    expect(tokens.issued).toBe(2);
    accepted = 'Bearer never';
    await expect(c.call({ method: 'GET', path: '/v1/guarded' })).rejects.toMatchObject({ outcome: 'unauthorized', status: 401, reason: 'callee refused our service token (401 TOKEN_INVALID)' });
    expect(outcomes).toEqual(['2xx', '2xx', 'unauthorized']);
    c.close();
  });

  it('when the token cannot be had, then the call is transient and never reaches the callee nor its breaker', async () => {
    const failing: TokenProvider = { fetches: 0, token: () => Promise.reject(new Error('identity down')), authorization: () => Promise.reject(new Error('identity down')), invalidate() {} };
    const { c } = client({ tokens: failing });
    const before = seen.length;
    for (let i = 0; i < 3; i++) await expect(c.call({ method: 'GET', path: '/v1/ok' })).rejects.toMatchObject({ outcome: 'token' });
    expect(seen.length).toBe(before);
    expect(c.breakerState).toBe('closed');
    c.close();
  });
});
