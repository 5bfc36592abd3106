/**
 * Saved addresses on the profile: the caller's own only, one default, a
 * limit per account, problem+json for the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { bearer, call, login, PROBLEM, setupIdentity, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let url: string;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await t.start());
});
afterAll(() => t.cleanup());

const home = { label: 'Home', line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
const work = { label: 'Work', line1: '9 Dock Rd', city: 'Shelbyville', postalCode: '54321', country: 'US' };

async function tokenOfNewAccount(): Promise<string> {
  const { email } = await verifiedAccount(t, url);
  return (await login(url, email)).body.accessToken as string;
}

describe('addresses', () => {
  it('when addresses are saved, then the first is the default, a new default moves it, and changes and deletes apply', async () => {
    const token = await tokenOfNewAccount();
    const a = await call(url, 'POST', '/v1/me/addresses', home, bearer(token));
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ ...home, isDefault: true });
    expect(a.headers.get('location')).toBe(`/v1/me/addresses/${a.body.id}`);
    const b = await call(url, 'POST', '/v1/me/addresses', { ...work, isDefault: true }, bearer(token));
    expect(b.body.isDefault).toBe(true);
    let list = (await call(url, 'GET', '/v1/me/addresses', undefined, bearer(token))).body.addresses as { id: string; isDefault: boolean }[];
    expect(list.map((x) => [x.id, x.isDefault])).toEqual([
      [a.body.id, false],
      [b.body.id, true],
    ]);

    const changed = await call(url, 'PUT', `/v1/me/addresses/${a.body.id}`, { ...home, line1: '2 Main St', isDefault: true }, bearer(token));
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ line1: '2 Main St', isDefault: true });
    expect((await call(url, 'DELETE', `/v1/me/addresses/${b.body.id}`, undefined, bearer(token))).status).toBe(204);
    list = (await call(url, 'GET', '/v1/me/addresses', undefined, bearer(token))).body.addresses;
    expect(list).toEqual([expect.objectContaining({ id: a.body.id, line1: '2 Main St', isDefault: true })]);
  });

  it("when another account's address id is used, then 404 and nothing changes", async () => {
    const mine = await tokenOfNewAccount();
    const theirs = await tokenOfNewAccount();
    const a = (await call(url, 'POST', '/v1/me/addresses', home, bearer(mine))).body;
    for (const [method, body] of [['PUT', work], ['DELETE', undefined]] as const) {
      const r = await call(url, method, `/v1/me/addresses/${a.id}`, body, bearer(theirs));
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type')).toBe(PROBLEM);
      expect(r.body).toMatchObject({ code: 'IDENTITY_ADDRESS_NOT_FOUND' });
    }
    expect((await call(url, 'GET', '/v1/me/addresses', undefined, bearer(theirs))).body.addresses).toEqual([]);
    expect((await call(url, 'GET', '/v1/me/addresses', undefined, bearer(mine))).body.addresses).toEqual([expect.objectContaining(home)]);
  });

  it('when 20 addresses are saved at once and one more is added, then exactly 20 are kept and the 21st is 422', async () => {
    const token = await tokenOfNewAccount();
    const results = await Promise.all(Array.from({ length: 21 }, (_, i) => call(url, 'POST', '/v1/me/addresses', { ...home, line1: `${i} Main St` }, bearer(token))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(20);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused.map((r) => [r.status, r.body.code])).toEqual([[422, 'IDENTITY_ADDRESS_LIMIT']]);
    const list = (await call(url, 'GET', '/v1/me/addresses', undefined, bearer(token))).body.addresses as { isDefault: boolean }[];
    expect(list).toHaveLength(20);
    expect(list.filter((x) => x.isDefault)).toHaveLength(1);
  });

  it('when an address is malformed or the token is missing, then 400 / 401 problem+json', async () => {
    const token = await tokenOfNewAccount();
    for (const body of [{ ...home, country: 'usa' }, { ...home, line1: '' }, { ...home, extra: 1 }, { city: 'x' }]) {
      const r = await call(url, 'POST', '/v1/me/addresses', body, bearer(token));
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED' });
    }
    expect((await call(url, 'PUT', '/v1/me/addresses/not-a-uuid', home, bearer(token))).status).toBe(400);
    expect((await call(url, 'DELETE', `/v1/me/addresses/${randomUUID()}`, undefined, bearer(token))).status).toBe(404);
    expect((await call(url, 'GET', '/v1/me/addresses')).body).toMatchObject({ code: 'IDENTITY_UNAUTHENTICATED' });
  });
});
