/**
 * /v1/internal/payments is the orders saga's way in (issue 25): without a
 * bearer token 401, with a user's token or another service's 403
 * (problem+json, nothing recorded, the PSP never asked); orders' client-credentials token from the real
 * identity authorizes, captures and lists the payment for the tenant the
 * saga names in x-auth-tenant. The gateway-routed /v1/payments answers as
 * before, without a token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call, OTHER_TENANT, pspState, setupPayments, type TestPayments } from './support.ts';

describe('payments internal routes require a service token', () => {
  let t: TestPayments;
  let url: string;
  let psp: string;

  beforeAll(async () => {
    t = await setupPayments();
    psp = (await t.startPsp()).url;
    url = (await t.startApp()).url;
  }, 60_000);
  afterAll(() => t.cleanup());

  const authorize = (headers: Record<string, string>, orderId = `o-${randomUUID()}`) => call(url, 'POST', '/v1/internal/payments', { orderId, amount: 1_250, currency: 'EUR' }, { 'idempotency-key': randomUUID(), ...headers });
  const recorded = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payments')).rows[0]!.n;

  it("when the saga calls without a token, with a user's token or another service's, then 401 / 403 problem+json, nothing recorded and the PSP not asked", async () => {
    const none = await authorize({});
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toMatchObject({ code: 'TOKEN_MISSING' });
    expect((await call(url, 'GET', '/v1/internal/payments?orderId=o-1')).status).toBe(401);
    expect((await call(url, 'POST', `/v1/internal/payments/${randomUUID()}/void`, {}, { 'idempotency-key': randomUUID() })).status).toBe(401);

    const asUser = await authorize({ authorization: `Bearer ${await t.issuer.userToken()}` });
    expect(asUser.status).toBe(403);
    expect(asUser.headers.get('content-type')).toBe('application/problem+json');
    expect(asUser.body).toMatchObject({ code: 'ROLE_MISSING', requiredRoles: ['service'] });

    // A valid service token, but of a client the route does not serve (INTERNAL_CLIENTS is orders).
    const asNotifications = await authorize({ authorization: await t.issuer.notifications.authorization(), 'x-auth-tenant': OTHER_TENANT });
    expect(asNotifications.status).toBe(403);
    expect(asNotifications.body).toMatchObject({ code: 'CLIENT_NOT_ALLOWED', allowedClients: ['orders'] });
    expect(await recorded()).toBe(0);
    expect((await pspState(psp)).counters.authorizations ?? 0).toBe(0);
  });

  it("when the saga calls with orders' client-credentials token, then the payment is authorized, captured and listed for the tenant in x-auth-tenant", async () => {
    const saga = async () => ({ authorization: await t.issuer.orders.authorization(), 'x-auth-tenant': OTHER_TENANT });
    const orderId = `o-${randomUUID()}`;
    const created = await authorize(await saga(), orderId);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/internal/payments/${created.body.id}`);
    const captured = await call(url, 'POST', `/v1/internal/payments/${created.body.id}/capture`, {}, { 'idempotency-key': randomUUID(), ...(await saga()) });
    expect(captured.status).toBe(200);
    const listed = await call(url, 'GET', `/v1/internal/payments?orderId=${orderId}`, undefined, await saga());
    expect(listed.body.payments).toMatchObject([{ id: created.body.id, status: 'captured', amount: 1_250 }]);
    const { rows } = await t.db.query<{ tenant_id: string }>('SELECT tenant_id FROM payments WHERE id = $1', [created.body.id]);
    expect(rows).toEqual([{ tenant_id: OTHER_TENANT }]);
    // The gateway's route: no token, the tenant the gateway verified; another tenant's payment is not there.
    expect((await call(url, 'GET', `/v1/payments?orderId=${orderId}`)).body).toEqual({ payments: [] });
    expect((await call(url, 'GET', `/v1/payments?orderId=${orderId}`, undefined, { 'x-auth-tenant': OTHER_TENANT })).body.payments).toHaveLength(1);
  });
});
