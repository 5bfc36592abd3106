/**
 * The OIDC provider across a signing-key rotation (rotation 3 s, publish-ahead
 * 2 s, tokens 6 s, as key-rotation.test.ts): while the next key is published
 * ahead, the provider still signs with the current one; after the switch it
 * signs with the new key (it is rebuilt for the ring's new version), and a
 * token of the old key verifies against the JWKS until it expires.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { relyingParty, SERVICE_SECRET, startWithIssuer } from './oidc-support.ts';
import { call, setupIdentity, waitFor, type TestIdentity } from './support.ts';
import type { IdentityApp } from '../src/app.ts';

const FAST = { KEY_ROTATION_INTERVAL_SECONDS: '3', KEY_PUBLISH_AHEAD_SECONDS: '2', KEY_CHECK_INTERVAL_MS: '100', ACCESS_TOKEN_TTL_SECONDS: '6', JWT_CLOCK_TOLERANCE_S: '0', KEY_RETIRE_GRACE_SECONDS: '0' };

let t: TestIdentity;
let url: string;
let app: IdentityApp;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url, app } = await startWithIssuer(t, FAST));
});
afterAll(() => t.cleanup());

const kids = async (): Promise<string[]> => ((await call(url, 'GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid);

describe('the OIDC provider and key rotation', () => {
  it('when the key rotates, then the provider signs with the current key only, switches with the ring, and old tokens verify until they expire', async () => {
    const orders = await relyingParty(url, 'orders', SERVICE_SECRET);
    const token = async () => (await oidc.clientCredentialsGrant(orders, { scope: 'api' })).access_token;
    const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`), { cacheMaxAge: 500, cooldownDuration: 100 });

    // the next key is published ahead of activation: the provider keeps signing with the current one
    await waitFor(async () => (await kids()).length === 2, 'the next key to be published', 15_000);
    const before = await token();
    const current = (await app.ring.signingKey()).kid;
    const [first, next] = await kids();
    expect(decodeProtectedHeader(before).kid).toBe(current);
    expect(current).toBe(first);

    // after activation the provider signs with the new key, like password logins
    let after = '';
    await waitFor(async () => decodeProtectedHeader((after = await token())).kid === next, 'the provider to sign with the new key', 15_000);
    expect((await app.ring.signingKey()).kid).toBe(next);
    await jwtVerify(after, jwks, { issuer: url, audience: 'bulwark' });
    // the old key's token still verifies while it is valid
    await jwtVerify(before, jwks, { issuer: url, audience: 'bulwark' });
  }, 40_000);
});
