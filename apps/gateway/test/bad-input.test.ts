/**
 * Request heads node's parser refuses never reach the proxy: a 1 MB header is
 * 431 and a forbidden byte 400, both problem+json from the kit's clientError
 * handler, and nothing is forwarded.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROBLEM_CONTENT_TYPE } from '@bulwark/errors';
import { startGateway, startUpstream, type TestGateway, type Upstream } from './support.ts';

let upstream: Upstream;
let gw: TestGateway;
let port: number;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startGateway({ upstreams: { orders: { url: upstream.url } }, routes: [{ id: 'orders', match: { prefix: '/orders' }, upstream: 'orders' }] });
  port = Number(new URL(gw.url).port);
});

afterAll(async () => {
  await gw.stop();
  await upstream.close();
});

function get(headers: Record<string, string>): Promise<{ status: number; type: string | undefined; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/orders/7', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('request heads the parser refuses', () => {
  it('when a header is 1 MB, then 431 problem+json and nothing is forwarded', async () => {
    const before = upstream.seen.length;
    const res = await get({ 'x-big': 'a'.repeat(1 << 20) });
    expect(res.status).toBe(431);
    expect(res.type).toBe(PROBLEM_CONTENT_TYPE);
    expect(res.body).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    expect(upstream.seen.length).toBe(before);
  });

  it('when a header holds a NUL byte, then 400 problem+json and nothing is forwarded', async () => {
    const before = upstream.seen.length;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('GET /orders/7 HTTP/1.1\r\nhost: x\r\nx-bad: a\u0000b\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply.toLowerCase()).toContain(`content-type: ${PROBLEM_CONTENT_TYPE}`);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
    expect(upstream.seen.length).toBe(before);
  });

  it('when the next request is well-formed, then it is proxied as usual', async () => {
    expect((await get({})).status).toBe(200);
  });
});
