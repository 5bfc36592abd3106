/**
 * KEK rotation against the real PostgreSQL: with a new KEK version active,
 * the next start re-wraps every data key (all tenants) under it without
 * touching a value's ciphertext; afterwards a ring without the old KEK
 * still reads every version, and new versions are wrapped by the new KEK.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKek, parseKeyRing } from '../src/domain/envelope.ts';
import { readFileSync } from 'node:fs';
import { ADMIN, call, enc, OTHER_TENANT, setupSecrets, type TestSecrets } from './support.ts';

let env: TestSecrets;
beforeAll(async () => {
  env = await setupSecrets();
}, 60_000);
afterAll(() => env?.cleanup());

const rows = async () =>
  (await env.superuser.query<{ tenant_id: string; name: string; version: number; ciphertext: Buffer; wrapped_key: Buffer; kek_version: number }>('SELECT tenant_id, name, version, ciphertext, wrapped_key, kek_version FROM secret_versions ORDER BY tenant_id, name, version')).rows;

describe('KEK rotation', () => {
  it('when a new KEK becomes active, then the next start re-wraps every data key and no value is re-encrypted; the old KEK can then be dropped', async () => {
    const first = await env.start();
    for (const tenantAdmin of [ADMIN, { ...ADMIN, 'x-auth-tenant': OTHER_TENANT }]) {
      for (const name of ['a', 'b/c']) {
        for (const value of ['one', 'two']) expect((await call(first.url, 'PUT', `/v1/secrets/${enc(name)}`, { value: `${name}-${value}` }, tenantAdmin)).status).toBe(201);
      }
    }
    await first.app.service.stop();
    const before = await rows();
    expect(before).toHaveLength(8);
    expect(new Set(before.map((r) => r.kek_version))).toEqual(new Set([1]));

    const v1 = parseKeyRing(readFileSync(env.kekFile, 'utf8'));
    const v2 = generateKek();
    env.writeRing({ active: 2, keys: new Map([...v1.keys, [2, v2]]) });
    const second = await env.start({ SECRETS_REWRAP_BATCH: '3' });
    const after = await rows();
    expect(after.map((r) => r.kek_version)).toEqual(after.map(() => 2));
    after.forEach((r, i) => {
      expect(r.ciphertext.equals(before[i]!.ciphertext)).toBe(true);
      expect(r.wrapped_key.equals(before[i]!.wrapped_key)).toBe(false);
    });
    expect(await second.app.rewrap()).toBe(0);
    await second.app.service.stop();

    env.writeRing({ active: 2, keys: new Map([[2, v2]]) });
    const third = await env.start();
    expect((await call(third.url, 'GET', `/v1/secrets/${enc('b/c')}?version=1`, undefined, ADMIN)).body).toMatchObject({ value: 'b/c-one', kekVersion: 2 });
    expect((await call(third.url, 'GET', `/v1/secrets/a`, undefined, { ...ADMIN, 'x-auth-tenant': OTHER_TENANT })).body).toMatchObject({ value: 'a-two' });
    expect((await call(third.url, 'PUT', `/v1/secrets/a`, { value: 'three' }, ADMIN)).body).toMatchObject({ version: 3, kekVersion: 2 });
  }, 60_000);
});
