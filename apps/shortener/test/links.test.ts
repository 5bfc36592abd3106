/**
 * The shortener against real PostgreSQL and Redis: links created with
 * generated codes and aliases, refused input as problem+json, the owner's
 * listing page by page, other users and tenants kept out, redirects (301 and
 * 302 with their cache headers, 404, 410), clicks and referrers counted, a
 * delete seen at once by a second instance sharing Redis, the per-IP limit,
 * and pending clicks written at a graceful stop.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OTHER_TENANT, PROBLEM, waitFor } from '@bulwark/test-support';
import { call, follow, OTHER_USER, setupShortener, USER, type TestShortener } from './support.ts';

let s: TestShortener;
let url: string;

beforeAll(async () => {
  s = await setupShortener();
  ({ url } = await s.start());
}, 60_000);

afterAll(async () => {
  await s?.cleanup();
});

async function create(body: Record<string, unknown>, headers: Record<string, string> = USER) {
  return call(url, 'POST', '/v1/links', body, headers);
}

describe('creating links', () => {
  it('when a user shortens a URL, then a 7-character code under the public base comes back, and it redirects with 302 no-store', async () => {
    const res = await create({ url: 'https://example.com/a?b=1' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ url: 'https://example.com/a?b=1', permanent: false, customAlias: false, clicks: 0, expiresAt: null });
    expect(res.body.code).toMatch(/^[0-9A-Za-z]{7}$/);
    expect(res.body.shortUrl).toBe(`http://short.test/r/${res.body.code}`);
    expect(await follow(url, res.body.code)).toMatchObject({ status: 302, location: 'https://example.com/a?b=1', cacheControl: 'no-store' });
  });

  it('when a custom alias is asked, then it is the code; the same alias again is 409 whoever asks', async () => {
    const alias = `sale-${Date.now().toString(36)}`;
    const first = await create({ url: 'https://example.com/sale', alias, permanent: true });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ code: alias, customAlias: true, permanent: true });
    expect(await follow(url, alias)).toMatchObject({ status: 301, location: 'https://example.com/sale', cacheControl: 'public, max-age=86400' });
    const again = await create({ url: 'https://example.com/other', alias }, { ...OTHER_USER, 'x-auth-tenant': OTHER_TENANT });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain(PROBLEM);
    expect(again.body).toMatchObject({ code: 'SHORTENER_ALIAS_TAKEN', alias });
  });

  it('when the input is bad, then each is a 4xx problem naming the reason, and nothing is stored', async () => {
    const cases: [Record<string, unknown>, number, string, string?][] = [
      [{ url: 'javascript:alert(1)' }, 422, 'SHORTENER_TARGET_INVALID', 'scheme'],
      [{ url: 'https://u:p@example.com/' }, 422, 'SHORTENER_TARGET_INVALID', 'credentials'],
      [{ url: 'http://short.test/r/abcdefg' }, 422, 'SHORTENER_TARGET_INVALID', 'loop'],
      [{ url: `https://example.com/${'x'.repeat(2100)}` }, 422, 'SHORTENER_TARGET_INVALID', 'too-long'],
      [{ url: 'https://example.com/', alias: 'admin' }, 422, 'SHORTENER_ALIAS_INVALID', 'reserved'],
      [{ url: 'https://example.com/', alias: 'a b' }, 422, 'SHORTENER_ALIAS_INVALID', 'pattern'],
      [{ url: 'https://example.com/', expiresAt: '2001-01-01T00:00:00Z' }, 422, 'SHORTENER_EXPIRY_IN_PAST'],
      [{ url: 'https://example.com/', extra: 1 }, 400, 'REQUEST_VALIDATION_FAILED'],
      [{}, 400, 'REQUEST_VALIDATION_FAILED'],
    ];
    const before = (await s.db.query<{ n: string }>('SELECT count(*) AS n FROM links')).rows[0]!.n;
    for (const [body, status, code, reason] of cases) {
      const res = await create(body);
      expect({ status: res.status, code: res.body.code, reason: res.body.reason }).toEqual({ status, code, reason });
      expect(res.headers.get('content-type')).toContain(PROBLEM);
    }
    expect((await s.db.query<{ n: string }>('SELECT count(*) AS n FROM links')).rows[0]!.n).toBe(before);
    const anonymous = await call(url, 'POST', '/v1/links', { url: 'https://example.com/' }, {});
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.code).toBe('SHORTENER_LOGIN_REQUIRED');
  });
});

describe('listing and reading links', () => {
  it('when a user has more links than a page, then the pages go newest first without gaps or repeats, and another user or tenant sees none of them', async () => {
    const owner = { 'x-auth-sub': `lister-${Date.now()}` };
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await create({ url: `https://example.com/${i}` }, owner)).body.code as string);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = await call(url, 'GET', `/v1/links${q}`, undefined, owner);
      expect(page.status).toBe(200);
      seen.push(...(page.body.items as { code: string }[]).map((l) => l.code));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
    expect((await call(url, 'GET', '/v1/links', undefined, OTHER_USER)).body.items.map((l: { code: string }) => l.code)).not.toContain(made[0]);
    expect((await call(url, 'GET', `/v1/links/${made[0]}`, undefined, OTHER_USER)).status).toBe(404);
    expect((await call(url, 'GET', `/v1/links/${made[0]}`, undefined, { ...owner, 'x-auth-tenant': OTHER_TENANT })).status).toBe(404);
  });

  it('when a link is clicked with referrers, then its clicks, last access and referrer origins (no paths) are counted', async () => {
    const { code } = (await create({ url: 'https://example.com/clicked' })).body as { code: string };
    await follow(url, code, { referer: 'https://news.example/item?id=42' });
    await follow(url, code, { referer: 'https://news.example/other' });
    await follow(url, code);
    await waitFor(async () => (await call(url, 'GET', `/v1/links/${code}`, undefined, USER)).body.clicks === 3, 'three clicks counted');
    const stats = await call(url, 'GET', `/v1/links/${code}`, undefined, USER);
    expect(stats.body.lastAccessedAt).not.toBeNull();
    expect(stats.body.referrers).toEqual([
      { referrer: 'https://news.example', clicks: 2 },
      { referrer: '', clicks: 1 },
    ]);
  });
});

describe('redirects', () => {
  it('when a code is unknown, then 404 problem; when it is created afterwards, then it redirects at once (the remembered miss is dropped)', async () => {
    const alias = `later-${Date.now().toString(36)}`;
    const missing = await follow(url, alias);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'SHORTENER_LINK_NOT_FOUND' });
    expect((await create({ url: 'https://example.com/later', alias })).status).toBe(201);
    expect((await follow(url, alias)).status).toBe(302);
  });

  it('when a link expires, then it answers 410 from then on; a permanent one is cacheable only until its expiry', async () => {
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const { code } = (await create({ url: 'https://example.com/soon', permanent: true, expiresAt })).body as { code: string };
    const early = await follow(url, code);
    expect(early.status).toBe(301);
    expect(Number(/max-age=(\d+)/.exec(early.cacheControl ?? '')?.[1])).toBeLessThanOrEqual(2);
    await waitFor(async () => (await follow(url, code)).status === 410, 'the link expired');
    expect(JSON.parse((await follow(url, code)).body)).toMatchObject({ code: 'SHORTENER_LINK_EXPIRED' });
  });

  it('when a link is deleted through one instance, then a second instance sharing Redis stops redirecting it at once', async () => {
    const second = await s.start();
    const { code } = (await create({ url: 'https://example.com/deleted' })).body as { code: string };
    expect((await follow(second.url, code)).status).toBe(302); // now in the second instance's L1
    expect((await call(url, 'DELETE', `/v1/links/${code}`, undefined, OTHER_USER)).status).toBe(404);
    expect((await call(url, 'DELETE', `/v1/links/${code}`, undefined, USER)).status).toBe(204);
    await waitFor(async () => (await follow(second.url, code)).status === 404, 'the second instance forgot the link');
  });
});

describe('limits and shutdown', () => {
  it('when one IP creates more links than its per-minute limit, then it gets 429 with Retry-After, and another IP is not affected', async () => {
    const limited = await s.start({ LINKS_PER_IP_PER_MINUTE: '3' });
    const ip = (n: string) => ({ ...USER, 'x-forwarded-for': `203.0.113.${n}` });
    for (let i = 0; i < 3; i++) expect((await call(limited.url, 'POST', '/v1/links', { url: 'https://example.com/r' }, ip('7'))).status).toBe(201);
    const refused = await call(limited.url, 'POST', '/v1/links', { url: 'https://example.com/r' }, ip('7'));
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(limited.url, 'POST', '/v1/links', { url: 'https://example.com/r' }, ip('8'))).status).toBe(201);
  });

  it('when the service stops gracefully with clicks still in memory, then they are written before the pool closes', async () => {
    const slow = await s.start({ CLICK_FLUSH_MS: '600000' });
    const { code } = (await create({ url: 'https://example.com/at-stop' })).body as { code: string };
    for (let i = 0; i < 5; i++) expect((await follow(slow.url, code)).status).toBe(302);
    expect(slow.app.clicks.pending).toBe(5);
    await slow.app.service.stop();
    const { rows } = await s.db.query<{ clicks: string }>('SELECT clicks FROM links WHERE code = $1', [code]);
    expect(Number(rows[0]!.clicks)).toBe(5);
  });
});
