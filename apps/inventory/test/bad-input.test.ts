/**
 * Input no store can take is refused at the edge (the kit's checks) before
 * anything is held: U+0000 in the query, JSON nested past BODY_MAX_DEPTH in a
 * property the schema leaves open.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { PROBLEM } from '@bulwark/test-support';
import { call, key, serviceAuth, setupInventory, type TestInventory } from './support.ts';

describe('bad input to the inventory API', () => {
  let env: TestInventory;
  let url: string;
  beforeAll(async () => {
    env = await setupInventory();
    ({ url } = await env.start());
    expect((await call(url, 'PUT', '/v1/skus/A', { onHand: 10 })).status).toBe(200);
  });
  afterAll(() => env.cleanup());

  const count = async (table: string): Promise<number> => (await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

  it('when reservations are listed with orderId=%00, then 400 problem+json names the query parameter', async () => {
    const r = await call(url, 'GET', '/v1/internal/reservations?orderId=%00');
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'query', path: 'orderId' }] });
  });

  it('when a reservation carries a property nested 10,000 levels, then 400 JSON_TOO_DEEP and nothing is held or stored', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const body = `{"orderId":"o-${randomUUID()}","items":[{"sku":"A","quantity":1}],"note":${deep}}`;
    const res = await fetch(`${url}/v1/internal/reservations`, { method: 'POST', headers: { 'content-type': 'application/json', ...key(), ...(await serviceAuth()) }, body });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROBLEM);
    expect(await res.json()).toMatchObject({ code: 'JSON_TOO_DEEP', maxDepth: 64 });
    expect(await count('reservations')).toBe(0);
    expect(await count('idempotency_keys')).toBe(0);
    expect((await call(url, 'GET', '/v1/skus/A')).body).toMatchObject({ reserved: 0 });
  });
});
