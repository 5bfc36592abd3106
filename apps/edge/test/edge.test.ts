/**
 * The edge cache against a real origin: RFC 9111 storage and reuse,
 * revalidation, RFC 5861 stale answers, collapsing, normalised keys, ranges,
 * compression and purges through the API.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { registryValue, waitFor } from '@bulwark/test-support';
import { startEdge, startOrigin, type Origin, type TestEdge } from './support.ts';

let origin: Origin;
let edge: TestEdge;

beforeAll(async () => {
  origin = await startOrigin();
  edge = await startEdge(origin.url);
});

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
});

let n = 0;
/** A fresh path per test so tests do not share entries. */
const fresh = (name: string) => `/t/${name}-${++n}`;

function fixed(body: string, headers: Record<string, string>) {
  return (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
}

describe('when a response is cacheable', () => {
  it('then the second GET is a hit and the origin sees one request', async () => {
    const path = fresh('basic');
    origin.route(path, fixed('hello', { 'cache-control': 'public, max-age=60' }));
    const first = await edge.get(path);
    const second = await edge.get(path);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.toString()).toBe('hello');
    expect(origin.count(path)).toBe(1);
  });

  it('then s-maxage applies to the edge even when max-age is 0', async () => {
    const path = fresh('smaxage');
    origin.route(path, fixed('shared', { 'cache-control': 'max-age=0, s-maxage=60' }));
    await edge.get(path);
    expect((await edge.get(path)).headers['x-cache']).toBe('HIT');
    expect(origin.count(path)).toBe(1);
  });

  it('then query order and host case do not make a second entry', async () => {
    const path = fresh('keys');
    origin.route(path, fixed('keyed', { 'cache-control': 'max-age=60' }));
    await edge.get(`${path}?b=2&a=1`, { host: 'Example.COM' });
    const again = await edge.get(`${path}?a=1&b=2`, { host: 'example.com' });
    expect(again.headers['x-cache']).toBe('HIT');
    expect(origin.count(path)).toBe(1);
    expect(origin.seen.find((r) => r.url?.startsWith(path))?.url).toBe(`${path}?a=1&b=2`);
  });

  it('then Vary keeps one variant per value of the named header', async () => {
    const path = fresh('vary');
    origin.route(path, (req, res) => fixed(`lang=${req.headers['accept-language']}`, { 'cache-control': 'max-age=60', vary: 'Accept-Language' })(req, res));
    const en = await edge.get(path, { 'accept-language': 'en' });
    const de = await edge.get(path, { 'accept-language': 'de' });
    const en2 = await edge.get(path, { 'accept-language': 'en' });
    expect([en.body.toString(), de.body.toString(), en2.body.toString()]).toEqual(['lang=en', 'lang=de', 'lang=en']);
    expect(en2.headers['x-cache']).toBe('HIT');
    expect(origin.count(path)).toBe(2);
  });

  it('then a client If-None-Match that matches gets 304 from the edge', async () => {
    const path = fresh('inm');
    origin.route(path, fixed('tagged', { 'cache-control': 'max-age=60', etag: '"v1"' }));
    await edge.get(path);
    const conditional = await edge.get(path, { 'if-none-match': '"v1"' });
    expect(conditional.status).toBe(304);
    expect(conditional.body.length).toBe(0);
    expect(origin.count(path)).toBe(1);
  });
});

describe('when a response must not be stored', () => {
  it.each([
    ['no-store', { 'cache-control': 'no-store' }],
    ['private', { 'cache-control': 'private, max-age=60' }],
    ['Set-Cookie', { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }],
  ])('then %s answers pass through every time', async (_name, headers) => {
    const path = fresh('nostore');
    origin.route(path, fixed('mine', headers));
    const a = await edge.get(path);
    const b = await edge.get(path);
    expect(a.headers['x-cache']).toBe('PASS');
    expect(b.body.toString()).toBe('mine');
    expect(origin.count(path)).toBe(2);
  });
});

describe('when the stored copy is stale', () => {
  it('then it is revalidated with If-None-Match and a 304 keeps the body', async () => {
    const path = fresh('reval');
    let version = 0;
    origin.route(path, (req, res) => {
      if (req.headers['if-none-match'] === '"e1"') {
        res.writeHead(304, { etag: '"e1"', 'cache-control': 'max-age=0' });
        return void res.end();
      }
      version++;
      fixed(`body-${version}`, { etag: '"e1"', 'cache-control': 'max-age=0' })(req, res);
    });
    await edge.get(path);
    const second = await edge.get(path);
    expect(second.headers['x-cache']).toBe('REVALIDATED');
    expect(second.body.toString()).toBe('body-1');
    expect(origin.seen.filter((r) => r.url === path).map((r) => r.headers['if-none-match'])).toEqual([undefined, '"e1"']);
  });

  it('then stale-while-revalidate answers at once from the store and refreshes in the background', async () => {
    const path = fresh('swr');
    let version = 0;
    origin.route(path, (req, res) => fixed(`v${++version}`, { 'cache-control': 'max-age=0, stale-while-revalidate=60' })(req, res));
    await edge.get(path);
    const stale = await edge.get(path);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body.toString()).toBe('v1');
    await waitFor(() => origin.count(path) === 2, 'background revalidation');
    await waitFor(async () => (await edge.get(path)).body.toString() !== 'v1', 'the refreshed copy served');
  });

  it('then stale-if-error answers a 5xx or an unreachable origin with the stored copy, and 502 once there is none', async () => {
    const path = fresh('sie');
    let fail = false;
    origin.route(path, (req, res) => {
      if (fail) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return void res.end('down');
      }
      fixed('good', { 'cache-control': 'max-age=0, stale-if-error=600' })(req, res);
    });
    await edge.get(path);
    fail = true;
    const onError = await edge.get(path);
    expect(onError.status).toBe(200);
    expect(onError.headers['x-cache']).toBe('STALE_IF_ERROR');
    expect(onError.body.toString()).toBe('good');

    // The origin process gone: connection refused.
    const lone = await startOrigin();
    const path2 = fresh('sie-gone');
    lone.route(path2, fixed('kept', { 'cache-control': 'max-age=0, stale-if-error=600' }));
    lone.route('/t/never-stored', fixed('x', { 'cache-control': 'no-store' }));
    const other = await startEdge(lone.url);
    try {
      await other.get(path2);
      await lone.close();
      const gone = await other.get(path2);
      expect(gone.headers['x-cache']).toBe('STALE_IF_ERROR');
      expect(gone.body.toString()).toBe('kept');
      const none = await other.get('/t/never-stored');
      expect(none.status).toBe(502);
      expect(none.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(none.body.toString()).code).toBe('EDGE_ORIGIN_UNAVAILABLE');
    } finally {
      await other.stop();
    }
  });
});

describe('when many clients miss the same object at once', () => {
  it('then one origin fetch answers them all', async () => {
    const path = fresh('collapse');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    origin.route(path, (req, res) => void gate.then(() => fixed('together', { 'cache-control': 'max-age=60' })(req, res)));
    const registry = edge.app.service.metrics;
    const clients = 20;
    const answers = Promise.all(Array.from({ length: clients }, () => edge.get(path)));
    await waitFor(async () => origin.count(path) === 1 && (await registryValue(registry, 'edge_collapsed_waiting')) === clients - 1, 'all waiting on one fetch');
    release();
    const all = await answers;
    expect(all.every((a) => a.status === 200 && a.body.toString() === 'together')).toBe(true);
    expect(all.filter((a) => a.headers['x-cache'] === 'COLLAPSED')).toHaveLength(clients - 1);
    expect(origin.count(path)).toBe(1);
  });
});

describe('when a client asks for a range or a coding', () => {
  const body = 'abcdefghij'.repeat(300); // 3,000 bytes: worth compressing
  let path: string;
  beforeAll(async () => {
    path = fresh('media');
    origin.route(path, fixed(body, { 'cache-control': 'max-age=60', etag: '"m1"', 'content-type': 'text/plain' }));
    await edge.get(path);
  });

  it('then a byte range is cut from the stored full object (206) and a range past the end is 416', async () => {
    const part = await edge.get(path, { range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${body.length}`);
    expect(part.body.toString()).toBe(body.slice(10, 20));
    const past = await edge.get(path, { range: `bytes=${body.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${body.length}`);
    expect(origin.count(path)).toBe(1);
  });

  it('then br or gzip is sent as Accept-Encoding asks, with Vary: Accept-Encoding and a weak ETag', async () => {
    const br = await edge.get(path, { 'accept-encoding': 'gzip, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toContain('Accept-Encoding');
    expect(br.headers.etag).toBe('W/"m1"');
    expect(brotliDecompressSync(br.body).toString()).toBe(body);
    const gz = await edge.get(path, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(body);
    const plain = await edge.get(path);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(body);
    expect(origin.count(path)).toBe(1);
    expect(origin.seen.find((r) => r.url === path)?.headers['accept-encoding']).toBe('identity');
  });
});

describe('when objects are purged', () => {
  it('then a purge by surrogate key drops every object tagged with it, and only those', async () => {
    const a = fresh('tag-a');
    const b = fresh('tag-b');
    const c = fresh('tag-c');
    origin.route(a, fixed('a', { 'cache-control': 'max-age=60', 'surrogate-key': 'article:1 articles' }));
    origin.route(b, fixed('b', { 'cache-control': 'max-age=60', 'surrogate-key': 'articles' }));
    origin.route(c, fixed('c', { 'cache-control': 'max-age=60', 'surrogate-key': 'other' }));
    for (const p of [a, b, c]) await edge.get(p);
    expect((await edge.get(a)).headers['surrogate-key']).toBeUndefined();
    const res = await fetch(`${edge.url}/_edge/purge`, { method: 'POST', headers: { authorization: `Bearer ${await edge.serviceToken()}`, 'content-type': 'application/json' }, body: JSON.stringify({ surrogateKeys: ['articles'] }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ purged: 2 });
    expect((await edge.get(a)).headers['x-cache']).toBe('MISS');
    expect((await edge.get(b)).headers['x-cache']).toBe('MISS');
    expect((await edge.get(c)).headers['x-cache']).toBe('HIT');
  });

  it('then the purge API refuses a caller without a service token (problem+json)', async () => {
    const res = await fetch(`${edge.url}/_edge/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ surrogateKeys: ['x'] }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const user = await edge.issuer.sign({ sub: 'u1', roles: ['orders'], iss: 'http://issuer.edge.test', aud: 'bulwark' });
    const asUser = await fetch(`${edge.url}/_edge/purge`, { method: 'POST', headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' }, body: JSON.stringify({ surrogateKeys: ['x'] }) });
    expect(asUser.status).toBe(403);
    const empty = await fetch(`${edge.url}/_edge/purge`, { method: 'POST', headers: { authorization: `Bearer ${await edge.serviceToken()}`, 'content-type': 'application/json' }, body: JSON.stringify({}) });
    expect(empty.status).toBe(400);
  });

  it('then a successful unsafe request to a URL drops its stored copy', async () => {
    const path = fresh('unsafe');
    origin.route(path, (req, res) => {
      if (req.method === 'POST') {
        res.writeHead(204);
        return void res.end();
      }
      fixed('doc', { 'cache-control': 'max-age=60' })(req, res);
    });
    await edge.get(path);
    const post = await fetch(`${edge.url}${path}`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(204);
    expect((await edge.get(path)).headers['x-cache']).toBe('MISS');
  });

  it('then warming stores the named URLs before any client asks', async () => {
    const path = fresh('warm');
    origin.route(path, fixed('warm', { 'cache-control': 'max-age=60' }));
    const host = new URL(edge.url).host;
    const res = await fetch(`${edge.url}/_edge/warm`, { method: 'POST', headers: { authorization: `Bearer ${await edge.serviceToken()}`, 'content-type': 'application/json' }, body: JSON.stringify({ urls: [`http://${host}${path}`] }) });
    expect(await res.json()).toEqual({ stored: 1, skipped: [] });
    expect((await edge.get(path)).headers['x-cache']).toBe('HIT');
    expect(origin.count(path)).toBe(1);
  });
});
