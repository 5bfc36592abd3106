import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { AppError } from '@bulwark/errors';
import { context, trace } from '@opentelemetry/api';
import { createService, propagationHeaders, type Service } from '../src/index.ts';
import { captureLogs, gate, testConfig, type CapturedLogs } from './helpers.ts';

let service: Service;
let url: string;
let logs: CapturedLogs;
const seenByRaw: string[] = [];
const held = gate();

beforeAll(async () => {
  logs = captureLogs();
  service = createService({
    name: 'raw-test',
    config: testConfig({ SHUTDOWN_TIMEOUT_MS: '10000' }),
    logDestination: logs.destination,
    defaultMetrics: false,
    routes(r, kit) {
      r.get('/declared', { summary: 'A declared route', responses: { 200: z.object({ by: z.string() }) }, handler: () => ({ status: 200, body: { by: 'route' } }) });
      r.get('/items/:id', { summary: 'A route with a parameter', params: z.object({ id: z.string() }), responses: { 200: z.object({ id: z.string() }) }, handler: ({ params }) => ({ status: 200, body: { id: params.id } }) });
      kit.mountRawHandler((req, res, request) => {
        seenByRaw.push(req.url ?? '');
        if (req.url?.startsWith('/raw/')) {
          request.markRoute('raw');
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ by: 'raw', requestId: request.requestId, traceId: request.traceId }));
          return true;
        }
        if (req.url === '/refused') {
          request.markRoute('refused');
          request.fail(new AppError('NOPE', 'not for you', { status: 403 }));
          return true;
        }
        if (req.url === '/head-array') {
          request.responseHeaders.push('x-extra', 'pending', 'cache-control', 'no-store');
          res.writeHead(200, ['content-type', 'text/plain', 'Cache-Control', 'max-age=5', 'set-cookie', ['a=1', 'b=2']]);
          res.end('ok');
          return true;
        }
        if (req.url === '/head-progressive') {
          request.responseHeaders.push('x-extra', 'pending', 'x-other', 'kept');
          res.setHeader('x-extra', 'explicit');
          res.end('ok');
          return true;
        }
        if (req.url === '/active') {
          res.end(JSON.stringify({ active: trace.getSpan(context.active())?.spanContext().traceId ?? null, traceId: request.traceId }));
          return true;
        }
        if (req.url === '/body-state') {
          // A request without Content-Length or Transfer-Encoding has no body
          // (RFC 9112 §6.3): the kit's server hands it over already ended.
          const endedOnArrival = req.readableEnded;
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          const answer = (): void => void res.end(JSON.stringify({ endedOnArrival, body: Buffer.concat(chunks).toString('utf8') }));
          if (endedOnArrival) answer();
          else req.on('end', answer);
          return true;
        }
        if (req.url === '/throws') throw new Error('boom');
        if (req.url === '/propagation') {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ fast: request.propagationHeaders(), general: propagationHeaders(request.traceContext) }));
          return true;
        }
        if (req.url === '/slow') {
          request.markRoute('slow');
          void held.promise.then(() => res.end('late'));
          return true;
        }
        return false;
      });
      kit.mountRawHandler((req, res) => {
        if (req.url !== '/second') return false;
        res.end('second');
        return true;
      });
    },
  });
  url = (await service.start()).url;
});

afterAll(() => service.stop());

describe('raw handlers (before Express)', () => {
  it('when a request has no body headers, then it reaches the handler already ended; with a body, the body is read in full', async () => {
    const get = await fetch(`${url}/body-state`);
    expect(await get.json()).toEqual({ endedOnArrival: true, body: '' });
    const post = await fetch(`${url}/body-state`, { method: 'POST', body: 'x'.repeat(100_000) });
    expect(await post.json()).toEqual({ endedOnArrival: false, body: 'x'.repeat(100_000) });
  });

  it('when a raw handler answers, then the response carries x-request-id and traceparent, and metrics and the log line label its route', async () => {
    const res = await fetch(`${url}/raw/1?token=secret`, { headers: { 'x-request-id': 'req-raw-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    const body = (await res.json()) as { by: string; requestId: string; traceId: string };
    expect(body).toEqual({ by: 'raw', requestId: 'req-raw-1', traceId: '0af7651916cd43dd8448eb211c80319c' });
    expect(res.headers.get('x-request-id')).toBe('req-raw-1');
    expect(res.headers.get('traceparent')).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(await service.metrics.metrics()).toMatch(/http_server_request_duration_seconds_count\{[^}]*route="raw"[^}]*status_code="200"[^}]*\} 1/);
    const line = logs.lines.find((l) => l.msg === 'request completed' && l.reqId === 'req-raw-1');
    expect(line).toMatchObject({ route: 'raw', path: '/raw/1', status: 200, traceId: '0af7651916cd43dd8448eb211c80319c' });
  });

  it('when a raw handler writes the head as one array, then the kit\'s and its pending fields go out with it and explicit fields win', async () => {
    const res = await fetch(`${url}/head-array`, { headers: { 'x-request-id': 'req-head-1' } });
    expect(await res.text()).toBe('ok');
    expect(res.headers.get('x-request-id')).toBe('req-head-1');
    expect(res.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(res.headers.get('x-extra')).toBe('pending');
    expect(res.headers.get('cache-control')).toBe('max-age=5'); // the writeHead argument, not the pending no-store
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('when a raw handler uses setHeader and end, then pending fields are merged and setHeader wins', async () => {
    const res = await fetch(`${url}/head-progressive`);
    expect(await res.text()).toBe('ok');
    expect(res.headers.get('x-extra')).toBe('explicit');
    expect(res.headers.get('x-other')).toBe('kept');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('when a raw handler refuses through fail, then problem+json with the request id', async () => {
    const res = await fetch(`${url}/refused`);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toMatchObject({ code: 'NOPE', status: 403, instance: '/refused' });
    expect(await service.metrics.metrics()).toMatch(/route="refused"[^}]*status_code="403"/);
  });

  it('when a raw handler asks for propagation headers, then they match propagationHeaders of its trace context, minted or continued', async () => {
    const minted = await fetch(`${url}/propagation`);
    const a = (await minted.json()) as { fast: Record<string, string>; general: Record<string, string> };
    expect(a.fast).toEqual(a.general);
    expect(a.fast).toEqual({ traceparent: minted.headers.get('traceparent') });
    const continued = await fetch(`${url}/propagation`, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=x', baggage: 'tenant=acme' } });
    const b = (await continued.json()) as { fast: Record<string, string>; general: Record<string, string> };
    expect(b.fast).toEqual(b.general);
    expect(b.fast).toMatchObject({ traceparent: continued.headers.get('traceparent'), baggage: 'tenant=acme' });
  });

  it('when a default raw handler runs, then the request\'s trace context is active', async () => {
    const body = (await (await fetch(`${url}/active`)).json()) as { active: string | null; traceId: string };
    expect(body.active).toBe(body.traceId);
  });

  it('when a raw handler throws, then 500 problem+json that leaks nothing, logged with the request id', async () => {
    const res = await fetch(`${url}/throws`, { headers: { 'x-request-id': 'req-throws' } });
    expect(res.status).toBe(500);
    const body = JSON.stringify(await res.json());
    expect(body).not.toContain('boom');
    expect(logs.lines.find((l) => l.msg === 'request failed' && l.reqId === 'req-throws')).toBeDefined();
  });

  it('when the first handler declines, then the next one is asked, and if none takes it Express answers 404', async () => {
    expect(await (await fetch(`${url}/second`)).text()).toBe('second');
    const missing = await fetch(`${url}/nowhere`, { headers: { 'x-request-id': 'req-404' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('req-404');
    expect(logs.lines.filter((l) => l.msg === 'request completed' && l.reqId === 'req-404')).toHaveLength(1); // observed once, not twice
  });

  it('when a path is the kit’s own (declared route, operational endpoint, any case), then raw handlers never see it', async () => {
    seenByRaw.length = 0;
    expect(await (await fetch(`${url}/declared`)).json()).toEqual({ by: 'route' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/HEALTHZ`)).status).toBe(200);
    expect((await fetch(`${url}/metrics?x=1`)).status).toBe(200);
    expect((await fetch(`${url}/declared`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${url}/declared/`)).status).toBe(200);
    expect(await (await fetch(`${url}/items/7`)).json()).toEqual({ id: '7' });
    expect(seenByRaw).toEqual([]);
  });

  it('when the service stops with a raw request in flight, then that request completes before the server closes', async () => {
    const pending = fetch(`${url}/slow`);
    while (!seenByRaw.includes('/slow')) await new Promise((r) => setTimeout(r, 5));
    const stopped = service.stop();
    held.open();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('late');
    await stopped;
  });
});

describe('raw handlers mounted with traceContext "explicit" (no SDK registered)', () => {
  let explicit: Service;
  let explicitUrl: string;
  const activeIn = (): string | null => trace.getSpan(context.active())?.spanContext().traceId ?? null;

  beforeAll(async () => {
    explicit = createService({
      name: 'raw-explicit-test',
      config: testConfig(),
      logDestination: captureLogs().destination,
      defaultMetrics: false,
      routes(_r, kit) {
        kit.mountRawHandler(
          (req, res, request) => {
            if (req.url !== '/explicit') return false;
            res.end(JSON.stringify({ active: activeIn(), traceId: request.traceId, propagation: request.propagationHeaders() }));
            return true;
          },
          { traceContext: 'explicit' },
        );
        kit.mountFallback((req, res, next) => {
          if (req.url !== '/to-express') return next();
          res.json({ active: activeIn() });
        });
      },
    });
    explicitUrl = (await explicit.start()).url;
  });
  afterAll(() => explicit.stop());

  it('when an explicit raw handler runs, then no context is entered and its propagation headers still carry the response\'s traceparent', async () => {
    const res = await fetch(`${explicitUrl}/explicit`);
    const body = (await res.json()) as { active: string | null; traceId: string; propagation: Record<string, string> };
    expect(body.active).toBeNull();
    expect(body.propagation).toEqual({ traceparent: res.headers.get('traceparent') });
    expect(res.headers.get('traceparent')).toContain(body.traceId);
  });

  it('when an explicit raw handler declines, then Express runs inside the request\'s trace context', async () => {
    const res = await fetch(`${explicitUrl}/to-express`);
    const body = (await res.json()) as { active: string | null };
    expect(body.active).not.toBeNull();
    expect(res.headers.get('traceparent')).toContain(body.active!);
  });
});

describe('raw handlers mounted with serves (a declared route answered before Express)', () => {
  let served: Service;
  let servedUrl: string;

  beforeAll(async () => {
    served = createService({
      name: 'raw-serves-test',
      config: testConfig(),
      logDestination: captureLogs().destination,
      defaultMetrics: false,
      routes(r, kit) {
        r.get('/go/:code', {
          summary: 'A documented hot path',
          params: z.object({ code: z.string().max(8) }),
          responses: { 200: z.object({ by: z.string() }) },
          handler: () => ({ status: 200, body: { by: 'route' } }),
        });
        r.get('/other/:id', { summary: 'Not served raw', params: z.object({ id: z.string() }), responses: { 200: z.object({ by: z.string() }) }, handler: () => ({ status: 200, body: { by: 'route' } }) });
        kit.mountRawHandler(
          (req, res, request) => {
            if (!/^\/go\/[a-z]{1,8}$/.test(req.url ?? '')) return false;
            request.markRoute('/go/:code');
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ by: 'raw' }));
            return true;
          },
          { serves: ['/go/:code'] },
        );
      },
    });
    servedUrl = (await served.start()).url;
  });
  afterAll(() => served.stop());

  it('when a request matches a template the handler serves, then the handler answers it, and the route answers what it declines (with its validation)', async () => {
    expect(await (await fetch(`${servedUrl}/go/abc`)).json()).toEqual({ by: 'raw' });
    expect(await (await fetch(`${servedUrl}/go/ABC`)).json()).toEqual({ by: 'route' });
    const tooLong = await fetch(`${servedUrl}/go/${'x'.repeat(20)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.headers.get('content-type')).toContain('application/problem+json');
  });

  it('when a declared route is not in serves, then raw handlers never see it; the served route stays in the OpenAPI document', async () => {
    expect(await (await fetch(`${servedUrl}/other/abc`)).json()).toEqual({ by: 'route' });
    const doc = (await (await fetch(`${servedUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/go/{code}', '/other/{id}']));
  });
});
