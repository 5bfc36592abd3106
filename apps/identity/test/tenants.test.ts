/**
 * Tenant isolation of identity (issue 25): the service connects as the
 * runtime role; invitations and addresses are under row-level security
 * (migrations/0007), written and read in the organisation's scope; accounts,
 * sessions and the other authentication tables stay global (a login is what
 * establishes the tenant).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createPool, withTenant } from '@bulwark/db';
import { pgUrl, runtimeDbUrl, silent } from '@bulwark/test-support';
import type { IdentityApp } from '../src/app.ts';
import { bearer, call, login, PASSWORD, setupIdentity, suffix, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

const address = { label: 'home', line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

describe('identity tenants (row-level security)', () => {
  let t: TestIdentity;
  let app: IdentityApp;
  let url: string;
  let tenantA: string;
  let tenantB: string;
  let tokenA: string;
  let tokenB: string;
  let invitationA: string;

  beforeAll(async () => {
    t = await setupIdentity();
    ({ app, url } = await t.start());
    const ids = (await t.db.query<{ slug: string; id: string }>('SELECT slug, id FROM tenants')).rows;
    tenantA = ids.find((r) => r.slug === TENANT)!.id;
    tenantB = ids.find((r) => r.slug === 'other')!.id;
    // A: the configured admin (manages acme); B: an account of the other tenant.
    await verifiedAccount(t, url, 'boss@acme.test');
    tokenA = (await login(url, 'boss@acme.test')).body.accessToken as string;
    const emailB = `b-${suffix()}@example.test`;
    expect((await call(url, 'POST', '/v1/accounts', { tenant: 'other', email: emailB, password: PASSWORD })).status).toBe(202);
    expect((await call(url, 'POST', '/v1/accounts/verify', { token: (await t.mail.next(emailB, 'verify-email')).token })).status).toBe(200);
    tokenB = (await call(url, 'POST', '/v1/sessions', { tenant: 'other', email: emailB, password: PASSWORD })).body.accessToken as string;
    for (const token of [tokenA, tokenB]) expect((await call(url, 'POST', '/v1/me/addresses', address, bearer(token))).status).toBe(201);
    const invited = await call(url, 'POST', `/v1/organizations/${tenantA}/invitations`, { email: `i-${suffix()}@example.test`, role: 'member' }, bearer(tokenA));
    expect(invited.status).toBe(201);
    invitationA = invited.body.id as string;
    // B's organisation gets an invitation too (written as the owner, filed under B).
    await t.db.query(`INSERT INTO invitations (id, tenant_id, email, org_role, token_hash, expires_at) VALUES (gen_random_uuid(), $1, 'x@example.test', 'member', sha256(random()::text::bytea), now() + interval '1 day')`, [tenantB]);
  });
  afterAll(() => t.cleanup());

  it("when a tenant runs a deliberately unscoped SELECT * through the app's pool, then invitations and addresses give only its rows", async () => {
    for (const [tenant, other] of [
      [tenantA, tenantB],
      [tenantB, tenantA],
    ]) {
      for (const table of ['invitations', 'addresses']) {
        const rows = (await withTenant(tenant!, () => app.pool.query<{ tenant_id: string }>(`SELECT * FROM ${table}`))).rows;
        expect([table, rows.length > 0]).toEqual([table, true]);
        expect([table, new Set(rows.map((r) => r.tenant_id))]).toEqual([table, new Set([tenant])]);
        expect(rows.map((r) => r.tenant_id)).not.toContain(other);
      }
    }
  });

  it('when a statement runs with no tenant context, then invitations and addresses show nothing and refuse writes; accounts stay global', async () => {
    for (const table of ['invitations', 'addresses']) expect([table, (await app.pool.query(`SELECT * FROM ${table}`)).rowCount]).toEqual([table, 0]);
    await expect(
      app.pool.query(`INSERT INTO addresses (id, user_id, line1, city, postal_code, country) SELECT gen_random_uuid(), id, 'x', 'y', 'z', 'US' FROM users LIMIT 1`),
    ).rejects.toMatchObject({ code: 'DB_TENANT_REQUIRED' });
    expect((await app.pool.query('SELECT DISTINCT tenant_id FROM users')).rowCount).toBe(2);
  });

  it('when one pooled connection serves tenant A and then tenant B, then B never sees A’s rows', async () => {
    const one = createPool({ connectionString: await runtimeDbUrl(pgUrl()), name: `identity_one_${suffix()}`, max: 1, searchPath: [t.schema], registry: new Registry(), log: silent });
    try {
      for (let round = 0; round < 3; round++) {
        for (const tenant of [tenantA, tenantB]) {
          const seen = await withTenant(tenant, () => one.query<{ tenant_id: string }>('SELECT tenant_id FROM addresses'));
          expect(new Set(seen.rows.map((r) => r.tenant_id))).toEqual(new Set([tenant]));
        }
        expect((await one.query('SELECT * FROM addresses')).rowCount).toBe(0);
      }
    } finally {
      await one.close();
    }
  });

  it("when B asks for A's organisation or invitations or cancels one, then it is 404 and A's invitation stays pending", async () => {
    expect((await call(url, 'GET', `/v1/organizations/${tenantA}/invitations`, undefined, bearer(tokenB))).status).toBe(404);
    expect((await call(url, 'DELETE', `/v1/organizations/${tenantA}/invitations/${invitationA}`, undefined, bearer(tokenB))).status).toBe(404);
    const pending = await call(url, 'GET', `/v1/organizations/${tenantA}/invitations`, undefined, bearer(tokenA));
    expect(pending.body.invitations.map((i: { id: string }) => i.id)).toContain(invitationA);
    const addressesB = await call(url, 'GET', '/v1/me/addresses', undefined, bearer(tokenB));
    expect(addressesB.body.addresses).toHaveLength(1);
  });
});
