import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { AppError, PROBLEM_CONTENT_TYPE, registerErrorCodes } from '@bulwark/errors';
import { createService, type Service } from '../src/index.ts';
import { captureLogs, testConfig } from './helpers.ts';

registerErrorCodes([{ code: 'TEST_ORDER_NOT_FOUND', status: 404, title: 'Order not found', description: 'test' }]);

const Order = z.object({ id: z.string(), items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })) });
const NewOrder = Order.omit({ id: true });

const logs = captureLogs();
let service: Service;
let url: string;

beforeAll(async () => {
  service = createService({
    name: 'orders-test',
    version: '1.2.3',
    config: testConfig({ BODY_LIMIT_BYTES: '200' }),
    logDestination: logs.destination,
    routes(r) {
      r.get('/orders/:id', {
        summary: 'Get an order',
        params: z.object({ id: z.string().min(2) }),
        responses: { 200: Order },
        handler: ({ params }) => {
          if (params.id === 'missing') throw new AppError('TEST_ORDER_NOT_FOUND', `order ${params.id} does not exist`, { status: 404 });
          return { status: 200, body: { id: params.id, items: [] } };
        },
      });
      r.post('/orders', {
        summary: 'Place an order',
        query: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
        body: NewOrder,
        responses: { 201: Order, 204: null },
        handler: async ({ body, query }) => (query.dryRun === 'true' ? { status: 204 } : { status: 201, body: { id: 'o-1', ...body } }),
      });
      r.get('/boom', {
        summary: 'Fails',
        responses: { 200: z.object({}) },
        handler: async () => {
          throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
        },
      });
      r.get('/busy', {
        summary: 'Pool exhausted',
        responses: { 200: z.object({}) },
        handler: () => {
          throw new AppError('TEST_POOL_EXHAUSTED', 'database pool exhausted', { status: 503, retryAfterSeconds: 2 });
        },
      });
    },
  });
  ({ url } = await service.start());
});

afterAll(async () => {
  await service.stop();
});

async function problemOf(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
  return (await res.json()) as Record<string, unknown>;
}

describe('routes', () => {
  it('when a GET route is called, then it answers with its typed JSON body', async () => {
    const res = await fetch(`${url}/orders/o-42`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'o-42', items: [] });
  });

  it('when a valid JSON body is posted, then the handler gets the parsed body', async () => {
    const res = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ sku: 'a', qty: 2 }] }) });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ id: 'o-1', items: [{ sku: 'a', qty: 2 }] });
  });

  it('when a route answers a null-schema status, then the response has no body', async () => {
    const res = await fetch(`${url}/orders?dryRun=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ sku: 'a', qty: 2 }] }) });
    expect(res.status).toBe(204);
  });
});

describe('errors as problem+json', () => {
  it('when the body and query do not match the schema, then 400 lists every issue with its path', async () => {
    const res = await fetch(`${url}/orders?dryRun=perhaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ sku: 1, qty: 0 }] }) });
    expect(res.status).toBe(400);
    const body = await problemOf(res);
    expect(body.code).toBe('REQUEST_VALIDATION_FAILED');
    expect((body.issues as { in: string; path: string }[]).map((i) => `${i.in}:${i.path}`).sort()).toEqual(['body:items.0.qty', 'body:items.0.sku', 'query:dryRun']);
  });

  it('when a path parameter is invalid, then 400 points at params', async () => {
    const body = await problemOf(await fetch(`${url}/orders/x`));
    expect(body).toMatchObject({ status: 400, issues: [{ in: 'params', path: 'id' }] });
  });

  it('when the JSON is malformed, then 400 MALFORMED_JSON', async () => {
    const res = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"items": [' });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe('MALFORMED_JSON');
  });

  it('when the body exceeds the limit, then 413', async () => {
    const res = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ sku: 'x'.repeat(500), qty: 1 }] }) });
    expect(res.status).toBe(413);
    expect(await problemOf(res)).toMatchObject({ code: 'BODY_TOO_LARGE', limitBytes: 200 });
  });

  it('when the body is not JSON, then 415', async () => {
    const res = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'items=1' });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('when no route matches, then 404', async () => {
    const res = await fetch(`${url}/nothing/here`);
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('ROUTE_NOT_FOUND');
  });

  it('when the path exists but not for the method, then 405 with Allow', async () => {
    const res = await fetch(`${url}/orders/o-42`, { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect((await problemOf(res)).code).toBe('METHOD_NOT_ALLOWED');
  });

  it('when a handler throws an AppError, then its status, code and detail are used', async () => {
    const res = await fetch(`${url}/orders/missing`);
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toMatchObject({ code: 'TEST_ORDER_NOT_FOUND', title: 'Order not found', detail: 'order missing does not exist', instance: '/orders/missing' });
  });

  it('when an AppError is 503 with retryAfterSeconds (e.g. db pool exhaustion), then 503 with Retry-After', async () => {
    const res = await fetch(`${url}/busy`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect((await problemOf(res)).code).toBe('TEST_POOL_EXHAUSTED');
  });

  it('when a handler throws unexpectedly, then 500 leaks nothing and the error is logged with its stack', async () => {
    const res = await fetch(`${url}/boom`, { headers: { 'x-request-id': 'req-boom-1' } });
    expect(res.status).toBe(500);
    const text = JSON.stringify(await problemOf(res));
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('10.1.2.3');
    const line = logs.lines.find((l) => l.msg === 'request failed' && l.reqId === 'req-boom-1');
    expect((line?.err as { stack?: string } | undefined)?.stack).toContain('ECONNREFUSED');
  });
});

describe('request ids and logs', () => {
  it('when the caller sends a sane x-request-id, then it is echoed and on the log line', async () => {
    const res = await fetch(`${url}/orders/o-1`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    await res.arrayBuffer();
    const line = logs.lines.find((l) => l.msg === 'request completed' && l.reqId === 'abc-123');
    expect(line).toMatchObject({ method: 'GET', route: '/orders/:id', path: '/orders/o-1', status: 200, service: 'orders-test', traceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('when the x-request-id is not sane, then a fresh id is generated', async () => {
    const res = await fetch(`${url}/orders/o-1`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('operational endpoints', () => {
  it('when /healthz is called, then 200', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('when /readyz is called with no dependencies, then 200', async () => {
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready', dependencies: [] });
  });

  it('when /metrics is scraped, then the RED histogram uses route templates and one label for unknown routes', async () => {
    await fetch(`${url}/orders/a1`);
    await fetch(`${url}/orders/b2`);
    await fetch(`${url}/random/${Math.random()}`);
    await fetch(`${url}/other/${Math.random()}`);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/http_server_request_duration_seconds_count\{service="orders-test",method="GET",route="\/orders\/:id",status_code="200"\} \d+/);
    expect(text).toMatch(/http_server_request_duration_seconds_count\{service="orders-test",method="GET",route="unmatched",status_code="404"\} [2-9]/);
    expect(text).not.toContain('/random/');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('when /openapi.json is fetched, then it is OpenAPI 3.1 generated from the route schemas', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string; info: unknown; paths: Record<string, Record<string, Record<string, unknown>>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toEqual({ title: 'orders-test', version: '1.2.3' });
    const get = doc.paths['/orders/{id}']?.get;
    expect(get).toMatchObject({ summary: 'Get an order', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 2 } }] });
    const post = doc.paths['/orders']?.post;
    expect(post).toMatchObject({
      parameters: [{ name: 'dryRun', in: 'query', required: false }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['items'] } } } },
      responses: { '201': { content: { 'application/json': { schema: { type: 'object' } } } }, '204': { description: expect.any(String) }, '400': expect.any(Object) },
    });
  });
});

describe('several services in one process', () => {
  it('when a second service is created, then it has its own metrics registry', async () => {
    const other = createService({ name: 'second', config: testConfig(), logDestination: captureLogs().destination, defaultMetrics: true });
    expect(other.metrics).not.toBe(service.metrics);
    const { url: otherUrl } = await other.start();
    expect((await fetch(`${otherUrl}/healthz`)).status).toBe(200);
    await other.stop();
  });
});
