/**
 * The proxy against real upstream HTTP servers: streaming both ways, tracing
 * and forwarding headers, hop-by-hop stripping, size limits, header injection
 * and WebSocket pass-through.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { startGateway, startUpstream, type TestGateway, type Upstream } from './support.ts';

/** Sends raw bytes and reads until the server closes (requests carry `connection: close`). */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

let upstream: Upstream;
let streamer: Upstream;
let wss: WebSocketServer;
let wsUrl: string;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  // Sends its first chunk, then waits for the client to ask for the rest: only a streaming proxy can pass that.
  streamer = await startUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': 'secret', 'keep-alive': 'timeout=5' });
    res.write('first;');
    req.socket.setNoDelay(true);
    setImmediate(() => res.end('last'));
  }, { readBody: false });
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  wss.on('connection', (socket, req) => {
    socket.send(`hello ${req.headers['x-forwarded-for']} ${req.headers['x-auth-sub'] ?? 'nobody'}`);
    socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
  });
  wsUrl = `http://127.0.0.1:${(wss.address() as net.AddressInfo).port}`;
  gw = await startGateway(
    {
      upstreams: { echo: { url: upstream.url }, streamer: { url: streamer.url }, ws: { url: wsUrl } },
      routes: [
        { id: 'echo', match: { prefix: '/echo' }, upstream: 'echo', rewrite: { stripPrefix: true, addPrefix: '/internal' }, maxBodyBytes: 1024 },
        { id: 'stream', match: { prefix: '/stream' }, upstream: 'streamer' },
        { id: 'ws', match: { pattern: '/ws' }, upstream: 'ws', websocket: true },
      ],
    },
    { BODY_LIMIT_BYTES: '1048576' },
  );
});

afterAll(async () => {
  await gw.stop();
  await upstream.close();
  await streamer.close();
  await new Promise((resolve) => wss.close(resolve));
});

describe('proxying', () => {
  it('when a request passes, then the upstream sees the rewritten path, forwarding and tracing headers, and the client its answer', async () => {
    const res = await request(`${gw.url}/echo/items?q=1`, { headers: { 'x-request-id': 'req-123', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', host: 'api.example' } });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as { url: string; headers: Record<string, string> };
    expect(body.url).toBe('/internal/items?q=1');
    expect(body.headers['x-request-id']).toBe('req-123');
    expect(body.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(body.headers['x-forwarded-proto']).toBe('http');
    expect(body.headers['x-forwarded-host']).toBe('api.example');
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('when a request is proxied, then the RED histogram labels it with its route id, not as unmatched', async () => {
    const res = await request(`${gw.url}/echo/labelled`);
    await res.body.dump();
    const metrics = await gw.gateway.metrics.metrics();
    expect(metrics).toMatch(/http_server_request_duration_seconds_count\{[^}]*route="proxy:echo"[^}]*status_code="200"[^}]*\} [1-9]/);
  });

  it('when a client sends hop-by-hop and spoofed x-auth-* headers, then the upstream sees none of them', async () => {
    // Raw bytes: HTTP clients refuse to send a Connection header naming other headers.
    const raw = await rawRequest(gw.port, 'GET /echo/x HTTP/1.1\r\nhost: a\r\nx-auth-sub: admin\r\nx-auth-roles: gateway-admin\r\nx-auth-tenant: t\r\nx-forwarded-for: 6.6.6.6\r\nte: trailers\r\nx-drop: 1\r\nconnection: close, x-drop\r\n\r\n');
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
    expect(Object.keys(body.headers).filter((h) => h.startsWith('x-auth-') || h === 'te' || h === 'x-drop')).toEqual([]);
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('when the upstream streams its response, then chunks arrive before the end and hop-by-hop response headers are dropped', async () => {
    const res = await request(`${gw.url}/stream`);
    expect(res.headers['x-hop']).toBeUndefined();
    expect(await res.body.text()).toBe('first;last');
  });

  it('when a body of unknown length streams in, then the upstream receives all of it', async () => {
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000, i));
    const res = await request(`${gw.url}/stream-unused`.replace('stream-unused', 'echo/upload'), { method: 'PUT', body: Readable.from(chunks.slice(0, 1)) });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    const big = await request(`${gw.url}/stream`, { method: 'POST', body: Readable.from(chunks) });
    expect(big.statusCode).toBe(200);
    await big.body.dump();
  });

  it('when the declared body exceeds the route limit, then 413 problem+json and the upstream saw nothing', async () => {
    const before = upstream.seen.length;
    const res = await request(`${gw.url}/echo/upload`, { method: 'POST', body: Buffer.alloc(2048, 1), headers: { 'content-type': 'application/octet-stream' } });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(((await res.body.json()) as { code: string }).code).toBe('GATEWAY_BODY_TOO_LARGE');
    expect(upstream.seen.length).toBe(before);
  });

  it('when a header value carries CR/LF, then 400 problem+json and the upstream saw nothing', async () => {
    const before = upstream.seen.length;
    const raw = await rawRequest(gw.port, 'GET /echo/x HTTP/1.1\r\nhost: a\r\nx-evil: a\rinjected: b\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('application/problem+json');
    expect(upstream.seen.length).toBe(before);
    expect(gw.logs.some((l) => l.msg === 'malformed request refused')).toBe(true);
  });

  it('when no route matches, then the kit answers 404 problem+json', async () => {
    const res = await request(`${gw.url}/nowhere`);
    expect(res.statusCode).toBe(404);
    await res.body.dump();
  });
});

describe('WebSocket upgrades', () => {
  it('when a client opens a WebSocket on a websocket route, then messages are echoed through the gateway', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers: { 'x-auth-sub': 'spoofed' } });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        messages.push(data.toString());
        if (messages.length === 1) ws.send('ping');
        if (messages.length === 2) resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    expect(messages).toEqual(['hello 127.0.0.1 nobody', 'echo:ping']);
  });

  it('when a WebSocket targets a non-websocket route, then the upgrade is refused with 404', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/echo/x`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(404);
  });
});
