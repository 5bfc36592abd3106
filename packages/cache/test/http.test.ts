/**
 * The HTTP helper on a real Express server over a real cache: a catalog GET
 * carries a strong ETag and Cache-Control, a matching If-None-Match gets 304
 * without a body, and after the product changes the tag changes too.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { Redis } from 'ioredis';
import { deletePrefix, redisUrl, suffix } from '@bulwark/test-support';
import { Cache, cacheControl, sendCached } from '../src/index.ts';

const prefix = `cachetest-${suffix()}`;
const redis = new Redis(redisUrl());
const cache = new Cache({ name: 'http', prefix, redis, redisTimeoutMs: 2_000 }); // loaded CI box: 100 ms can pass
const prices = new Map([['p-1', 100]]);
const policy = { maxAgeSeconds: 60, staleWhileRevalidateSeconds: 30, staleIfErrorSeconds: 600 };
let server: Server;
let base: string;

beforeAll(async () => {
  await cache.start();
  const app = express();
  app.get('/products/:id', async (req, res) => {
    const product = await cache.get(`product:${req.params.id}`, async () => ({ id: req.params.id, price: prices.get(req.params.id) }));
    sendCached(req, res, product, policy);
  });
  app.get('/health', cacheControl({ maxAgeSeconds: 0, scope: 'private' }), (_req, res) => void res.json({ ok: true }));
  server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await cache.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('catalog GET caching headers', () => {
  it('when the client sends back the ETag it got, then 304 without a body; when the product changed, then 200 with a new ETag', async () => {
    const first = await fetch(`${base}/products/p-1`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ id: 'p-1', price: 100 });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/); // strong: no W/
    expect(first.headers.get('cache-control')).toBe('public, max-age=60, stale-while-revalidate=30, stale-if-error=600');

    const again = await fetch(`${base}/products/p-1`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);

    prices.set('p-1', 120);
    await cache.delete('product:p-1');
    const changed = await fetch(`${base}/products/p-1`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual({ id: 'p-1', price: 120 });
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('when cacheControl is mounted on a route, then its GETs carry the policy', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.headers.get('cache-control')).toBe('private, max-age=0');
  });
});
