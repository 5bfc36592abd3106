/**
 * Signing key rotation with short real intervals (rotation 3 s, publish-ahead
 * 2 s, access tokens 6 s), checked the way the gateway checks tokens: jose's
 * createRemoteJWKSet on /.well-known/jwks.json. A token signed by the old
 * key verifies until it expires; after that the old key leaves the JWKS and
 * the database. Two replicas on one schema never create two keys for one slot.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { errors as joseErrors, decodeJwt } from 'jose';
import { call, gatewayVerifier, jwtHeader, login, setupIdentity, verifiedAccount, waitFor, type TestIdentity } from './support.ts';

const FAST = {
  KEY_ROTATION_INTERVAL_SECONDS: '3',
  KEY_PUBLISH_AHEAD_SECONDS: '2',
  KEY_CHECK_INTERVAL_MS: '100',
  ACCESS_TOKEN_TTL_SECONDS: '6',
  JWT_CLOCK_TOLERANCE_S: '0',
  KEY_RETIRE_GRACE_SECONDS: '0',
  // the test logs in every 100 ms while it waits for the switch
  LOGIN_LIMIT_PER_IP: '10000',
  LOGIN_LIMIT_PER_IP_ACCOUNT: '10000',
  LOGIN_LIMIT_PER_ACCOUNT: '10000',
};

const kids = async (url: string): Promise<string[]> => ((await call(url, 'GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid);

describe('key rotation', () => {
  let t: TestIdentity;
  let url: string;
  beforeAll(async () => {
    t = await setupIdentity();
    ({ url } = await t.start(FAST));
  });
  afterAll(() => t.cleanup());

  it('when the key rotates, then tokens of the old key verify with the published JWKS until they expire, and then the old key is gone', async () => {
    const { email } = await verifiedAccount(t, url);
    // A gateway-shaped verifier whose cache goes stale after 1 s (the gateway: 600 s, under the 900 s publish-ahead).
    const gateway = gatewayVerifier(url, { cacheMaxAgeMs: 1000 });

    // The next key is published ahead of its activation: two keys, one signing.
    await waitFor(async () => (await kids(url)).length === 2, 'the next key to be published', 15_000);
    const oldToken = (await login(url, email)).body.accessToken as string;
    const oldKid = jwtHeader(oldToken).kid;
    const [first, next] = await kids(url);
    expect(oldKid).toBe(first);
    expect(next).not.toBe(oldKid);
    await gateway(oldToken);

    // After activation the new key signs; the old key's token still verifies.
    let newToken = '';
    await waitFor(async () => jwtHeader((newToken = (await login(url, email)).body.accessToken)).kid === next, 'the next key to sign', 15_000, 100);
    expect((await gateway(newToken)).sub).toBeDefined();
    const oldExp = decodeJwt(oldToken).exp! * 1000;
    expect(Date.now()).toBeLessThan(oldExp - 1000);
    expect(await kids(url)).toContain(oldKid);
    await gateway(oldToken);

    // The old key leaves the JWKS (and the table) once its last token has expired, not before.
    await waitFor(async () => !(await kids(url)).includes(oldKid), 'the old key to be retired', 15_000, 100);
    expect(Date.now()).toBeGreaterThanOrEqual(oldExp - 150);
    // the JWKS drops it at once; the next maintenance pass deletes the row
    await waitFor(async () => (await t.db.query('SELECT 1 FROM signing_keys WHERE kid = $1', [oldKid])).rowCount === 0, 'the old key row to be deleted', 5_000, 50);

    const fresh = gatewayVerifier(url);
    const beforeExpiry = new Date(oldExp - 1000);
    await expect(fresh(oldToken, beforeExpiry)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
    await fresh(newToken, new Date((decodeJwt(newToken).iat! + 1) * 1000));
  });

  it('when the private keys are read from the table, then they are sealed (no JWK private member in clear)', async () => {
    const rows = await t.db.query<{ private_jwk_sealed: Buffer; public_jwk: Record<string, unknown> }>('SELECT private_jwk_sealed, public_jwk FROM signing_keys');
    expect(rows.rowCount).toBeGreaterThan(0);
    for (const r of rows.rows) {
      expect(r.public_jwk.d).toBeUndefined();
      expect(r.private_jwk_sealed.toString('latin1')).not.toContain('"d"');
    }
  });
});

describe('several replicas', () => {
  let t: TestIdentity;
  beforeAll(async () => {
    t = await setupIdentity();
  });
  afterAll(() => t.cleanup());

  it('when two replicas start and maintain the ring at the same time, then there is one key per slot and both sign with the same key', async () => {
    const [a, b] = await Promise.all([t.start(FAST), t.start(FAST)]);
    // One key per slot: at most one key ahead of its activation, activations a rotation apart.
    const assertRing = async (): Promise<void> => {
      expect((await t.db.query(`SELECT 1 FROM signing_keys WHERE activates_at > now()`)).rowCount).toBeLessThanOrEqual(1);
      const gaps = await t.db.query<{ gap: number | null }>(`SELECT extract(epoch FROM activates_at - lag(activates_at) OVER (ORDER BY activates_at))::float8 AS gap FROM signing_keys`);
      expect(gaps.rowCount).toBeGreaterThanOrEqual(1);
      for (const r of gaps.rows.slice(1)) expect(r.gap).toBeGreaterThanOrEqual(2.9);
    };
    await assertRing();

    const deadline = Date.now() + 4_000;
    while (Date.now() < deadline) {
      await Promise.all([a.app.housekeeping.runOnce(), b.app.housekeeping.runOnce(), a.app.housekeeping.runOnce(), b.app.housekeeping.runOnce()]);
      await assertRing();
    }

    const { email } = await verifiedAccount(t, a.url);
    const fromA = jwtHeader((await login(a.url, email)).body.accessToken).kid;
    const fromB = jwtHeader((await login(b.url, email)).body.accessToken).kid;
    const current = (await t.db.query<{ kid: string }>('SELECT kid FROM signing_keys WHERE activates_at <= now() ORDER BY activates_at DESC LIMIT 1')).rows[0]!.kid;
    // at a slot boundary one login may already use the next key
    expect([fromA, fromB].filter((k) => k === current).length).toBeGreaterThanOrEqual(1);
  });
});
