/**
 * Wrong passwords, the capped per-(account, IP) lockout and the Redis rate
 * limits, against real PostgreSQL and Redis. Client addresses come from
 * X-Forwarded-For (TRUST_PROXY_HOPS=1, as behind the gateway).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, login, PASSWORD, PROBLEM, setupIdentity, suffix, TENANT, verifiedAccount, waitFor, type TestIdentity } from './support.ts';

const ip = (n: number): Record<string, string> => ({ 'x-forwarded-for': `198.51.100.${n}` });

let t: TestIdentity;
let url: string;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await t.start({ TRUST_PROXY_HOPS: '1', LOCKOUT_THRESHOLD: '3', LOCKOUT_BASE_SECONDS: '1', LOCKOUT_MAX_SECONDS: '2' }));
});
afterAll(() => t.cleanup());

/** The problem without what differs per request. */
const shape = (body: Record<string, unknown>) => ({ ...body, instance: undefined });

describe('wrong credentials', () => {
  it('when the password is wrong, the email unknown or the tenant unknown, then the answer is the same 401 problem', async () => {
    const { email } = await verifiedAccount(t, url);
    const wrong = await login(url, email, 'not-the-password', ip(1));
    const unknown = await login(url, `nobody-${suffix()}@example.test`, PASSWORD, ip(1));
    const noTenant = await call(url, 'POST', '/v1/sessions', { tenant: 'no-such-tenant', email, password: PASSWORD }, ip(1));
    for (const r of [wrong, unknown, noTenant]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toBe(PROBLEM);
    }
    expect(shape(wrong.body)).toEqual(shape(unknown.body));
    expect(shape(wrong.body)).toEqual(shape(noTenant.body));
    expect(wrong.body).toMatchObject({ code: 'IDENTITY_INVALID_CREDENTIALS', status: 401 });
  });
});

describe('lockout', () => {
  it('when one address fails past the threshold, then that address is locked (429 + Retry-After, even with the right password) and another address still logs in', async () => {
    const { email } = await verifiedAccount(t, url);
    for (let i = 0; i < 3; i++) expect((await login(url, email, 'guess-' + i, ip(10))).status).toBe(401);
    const locked = await login(url, email, PASSWORD, ip(10));
    expect(locked.status).toBe(429);
    expect(locked.headers.get('content-type')).toBe(PROBLEM);
    expect(locked.body).toMatchObject({ code: 'IDENTITY_LOGIN_LOCKED' });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    expect((await login(url, email, PASSWORD, ip(11))).status).toBe(201);
  });

  it('when the lock runs out, then the right password works again and resets the count; the lock never grows past the cap', async () => {
    const { email } = await verifiedAccount(t, url);
    for (let i = 0; i < 6; i++) await login(url, email, 'guess-' + i, ip(20));
    const row = await t.db.query<{ failures: number; secs: number }>(`SELECT failures, extract(epoch FROM locked_until - last_failure_at)::float8 AS secs FROM login_lockouts WHERE email = $1`, [email]);
    expect(row.rows[0]!.failures).toBe(3); // attempts during the lock are refused before they count
    expect(row.rows[0]!.secs).toBeLessThanOrEqual(2.1);
    let res = await login(url, email, PASSWORD, ip(20));
    await waitFor(async () => (res = await login(url, email, PASSWORD, ip(20))).status !== 429, 'the lock to run out', 10_000, 200);
    expect(res.status).toBe(201);
    expect((await t.db.query('SELECT 1 FROM login_lockouts WHERE email = $1', [email])).rowCount).toBe(0);
  });

  it('when an email has no account, then it is locked exactly like one that has (a lock reveals nothing)', async () => {
    const ghost = `ghost-${suffix()}@example.test`;
    for (let i = 0; i < 3; i++) expect((await login(url, ghost, 'guess-' + i, ip(30))).status).toBe(401);
    expect((await login(url, ghost, PASSWORD, ip(30))).body).toMatchObject({ code: 'IDENTITY_LOGIN_LOCKED' });
  });
});

describe('rate limits', () => {
  it('when one address sends more logins than LOGIN_LIMIT_PER_IP_ACCOUNT, then 429 RATE_LIMITED with RateLimit headers before any password check, and other addresses are not affected', async () => {
    const limited = await setupIdentity();
    try {
      const { url: u } = await limited.start({ TRUST_PROXY_HOPS: '1', LOGIN_LIMIT_PER_IP_ACCOUNT: '2', LOCKOUT_THRESHOLD: '100' });
      const { email } = await verifiedAccount(limited, u);
      expect((await login(u, email, PASSWORD, ip(40))).status).toBe(201);
      expect((await login(u, email, 'wrong-password-1', ip(40))).status).toBe(401);
      const throttled = await login(u, email, PASSWORD, ip(40));
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('content-type')).toBe(PROBLEM);
      expect(throttled.body).toMatchObject({ code: 'RATE_LIMITED', policies: ['login-ip-account'] });
      expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(throttled.headers.get('ratelimit-policy')).toContain('login-ip-account');
      expect((await login(u, email, PASSWORD, ip(41))).status).toBe(201);
    } finally {
      await limited.cleanup();
    }
  });

  it('when one address tries many accounts, then LOGIN_LIMIT_PER_IP stops it whatever the account', async () => {
    const limited = await setupIdentity();
    try {
      const { url: u } = await limited.start({ TRUST_PROXY_HOPS: '1', LOGIN_LIMIT_PER_IP: '3' });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await login(u, `spray-${i}-${suffix()}@example.test`, PASSWORD, ip(50))).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect((await login(u, `spray-x@example.test`, PASSWORD, ip(51))).status).toBe(401);
    } finally {
      await limited.cleanup();
    }
  });
});

describe('tenants', () => {
  it('when the same email registers in two tenants, then they are two accounts with their own passwords', async () => {
    const email = `both-${suffix()}@example.test`;
    await verifiedAccount(t, url, email);
    await call(url, 'POST', '/v1/accounts', { tenant: 'other', email, password: 'other-tenant-passphrase' });
    const mail = await t.mail.next(email, 'verify-email');
    await call(url, 'POST', '/v1/accounts/verify', { token: mail.token });
    expect((await call(url, 'POST', '/v1/sessions', { tenant: 'other', email, password: 'other-tenant-passphrase' }, ip(60))).status).toBe(201);
    expect((await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: 'other-tenant-passphrase' }, ip(60))).status).toBe(401);
    expect((await login(url, email, PASSWORD, ip(60))).status).toBe(201);
  });
});
