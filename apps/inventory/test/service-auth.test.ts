/**
 * The reservation routes are the orders saga's internal API (issue 25): a
 * call without a bearer token is refused 401, a user's token (no `service`
 * role, not a client-credentials token) 403, another service's token 403
 * (the routes serve orders only), all as problem+json and before anything is
 * written; orders' client-credentials token from the real
 * identity is accepted, and the reservation is filed under the tenant the
 * saga names in x-auth-tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { OTHER_TENANT, PROBLEM } from '@bulwark/test-support';
import { call, key, serviceAuth, setupInventory, type TestInventory } from './support.ts';

describe('inventory internal routes require a service token', () => {
  let env: TestInventory;
  let url: string;

  beforeAll(async () => {
    env = await setupInventory();
    ({ url } = await env.start());
    expect((await call(url, 'PUT', '/v1/skus/A', { onHand: 10 })).status).toBe(200);
  }, 60_000);
  afterAll(() => env.cleanup());

  const reserve = (headers: Record<string, string>) => call(url, 'POST', '/v1/internal/reservations', { orderId: `o-${randomUUID()}`, items: [{ sku: 'A', quantity: 1 }] }, { ...key(), ...headers });
  const held = async () => (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reservations')).rows[0]!.n;

  it('when the saga calls without a token, then 401 TOKEN_MISSING problem+json with a Bearer challenge, on every reservation route, and nothing is held', async () => {
    const none = await reserve({ authorization: '' });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe(PROBLEM);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toMatchObject({ code: 'TOKEN_MISSING', status: 401 });
    for (const [method, path] of [['GET', '/v1/internal/reservations?orderId=o-1'], ['GET', `/v1/internal/reservations/${randomUUID()}`], ['POST', `/v1/internal/reservations/${randomUUID()}/release`]] as const) {
      expect((await call(url, method, path, undefined, { ...key(), authorization: '' })).status).toBe(401);
    }
    expect((await reserve({ authorization: 'Bearer not.a.token' })).body).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(await held()).toBe(0);
  });

  it("when the saga calls with a user's token, then 403 ROLE_MISSING and nothing is held", async () => {
    const asUser = await reserve({ authorization: `Bearer ${await env.issuer.userToken()}` });
    expect(asUser.status).toBe(403);
    expect(asUser.headers.get('content-type')).toBe(PROBLEM);
    expect(asUser.body).toMatchObject({ code: 'ROLE_MISSING', requiredRoles: ['service'] });
    expect(await held()).toBe(0);
  });

  it("when another service calls with its own valid service token, then 403 CLIENT_NOT_ALLOWED and nothing is held", async () => {
    const asNotifications = await reserve({ authorization: await env.issuer.notifications.authorization(), 'x-auth-tenant': OTHER_TENANT });
    expect(asNotifications.status).toBe(403);
    expect(asNotifications.headers.get('content-type')).toBe(PROBLEM);
    expect(asNotifications.body).toMatchObject({ code: 'CLIENT_NOT_ALLOWED', allowedClients: ['orders'] });
    expect(await held()).toBe(0);
  });

  it("when the saga calls with orders' client-credentials token, then the stock is held for the tenant named in x-auth-tenant", async () => {
    const r = await reserve({ ...(await serviceAuth()), 'x-auth-tenant': OTHER_TENANT });
    expect(r.status).toBe(201);
    const { rows } = await env.db.query<{ tenant_id: string }>('SELECT tenant_id FROM reservations WHERE id = $1', [r.body.id]);
    expect(rows).toEqual([{ tenant_id: OTHER_TENANT }]);
    expect((await call(url, 'GET', '/v1/skus/A')).body).toMatchObject({ reserved: 1 });
  });
});
