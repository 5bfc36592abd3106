/**
 * The OIDC code flow once in a real browser: Debian's chromium driven by
 * playwright-core, with JavaScript switched off (the pages must work
 * without it), filling the login form by its labels and allowing consent;
 * the relying party (openid-client) exchanges the code. A screenshot of the
 * login page is kept at .local/artifacts/identity-login.png (git-ignored).
 *
 * Chromium comes from Debian's packages through the project's installer
 * (scripts/infra/prereqs.ts: apt-get as root, once); where it cannot be had,
 * the test is skipped and its name says why.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { chromium, type Browser } from 'playwright-core';
import { ensureRequirements } from '../../../scripts/infra/prereqs.ts';
import { relyingParty, RP_CALLBACK, startWithIssuer } from './oidc-support.ts';
import { PASSWORD, setupIdentity, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../.local/artifacts/', import.meta.url));

let unavailable: string | undefined;
try {
  ensureRequirements([{ binary: CHROMIUM, debianPackage: 'chromium' }]);
} catch (err) {
  unavailable = (err as Error).message;
  process.stderr.write(`identity browser test skipped: ${unavailable}\n`);
}
const browserIt = unavailable === undefined ? it : it.skip;

let t: TestIdentity;
let url: string;
let browser: Browser | undefined;
beforeAll(async () => {
  if (unavailable !== undefined) return;
  t = await setupIdentity();
  ({ url } = await startWithIssuer(t));
  // The flags keep Chromium off the network this machine does not have (see the env notes).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.cleanup();
});

describe('the login page in a real browser', () => {
  browserIt(unavailable === undefined ? 'when a person signs in with JavaScript off, then the form works by its labels, consent returns a code, and the RP gets tokens' : `skipped: ${unavailable}`, async () => {
    const { email } = await verifiedAccount(t, url);
    const rp = await relyingParty(url);
    const verifier = oidc.randomPKCECodeVerifier();
    const authUrl = oidc.buildAuthorizationUrl(rp, { redirect_uri: RP_CALLBACK, scope: 'openid profile', state: 'browser', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });

    const context = await browser!.newContext({ javaScriptEnabled: false, locale: 'en-GB', viewport: { width: 800, height: 900 } });
    const page = await context.newPage();
    let callback: string | undefined;
    // The RP's callback is not served here: the browser's arrival there is the result.
    await page.route(`${RP_CALLBACK}**`, async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the relying party' });
    });

    await page.goto(authUrl.toString());
    expect(await page.title()).toBe('Sign in · Bulwark');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}identity-login.png`, fullPage: true });

    await page.getByLabel('Organisation').fill(TENANT);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${RP_CALLBACK}**`);

    expect(callback).toBeDefined();
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback!), { pkceCodeVerifier: verifier, expectedState: 'browser' });
    const sub = (await t.db.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email])).rows[0]!.id;
    expect(tokens.claims()!.sub).toBe(sub);
    expect(fs.statSync(`${ARTIFACTS}identity-login.png`).size).toBeGreaterThan(1000);
    await context.close();
  }, 60_000);
});
