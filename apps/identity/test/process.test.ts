/**
 * identity as the cluster runs it: src/main.ts in its own process. It gets
 * ready, serves a login, logs no password or token (even at debug level and
 * when an email cannot be handed over), and exits 0 on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runtimeDbUrl, startService, type Service } from '@bulwark/test-support';
import { call, PASSWORD, setupIdentity, suffix, TENANT, type TestIdentity } from './support.ts';

let t: TestIdentity;
let child: Service | undefined;
beforeAll(async () => {
  t = await setupIdentity();
});
afterAll(async () => {
  await child?.stop();
  await t.cleanup();
});

describe('identity as a process', () => {
  it('when it runs from src/main.ts, then it serves the account flow, never logs a secret, and SIGTERM exits 0', async () => {
    const { BULWARK_PG_URL, BULWARK_REDIS_URL } = process.env;
    child = await startService({
      main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
      name: 'identity',
      env: {
        LOG_LEVEL: 'debug',
        DATABASE_URL: await runtimeDbUrl(BULWARK_PG_URL!),
        MIGRATION_DATABASE_URL: BULWARK_PG_URL!,
        REDIS_URL: BULWARK_REDIS_URL!,
        IDENTITY_SCHEMA: t.schema,
        RATE_LIMIT_PREFIX: `rl:identity-test-${suffix()}`,
        KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        NOTIFICATIONS_URL: t.mail.url,
        TENANTS: `${TENANT}:Acme Inc`,
        SHUTDOWN_DELAY_MS: '0',
      },
    });
    const url = child.url;
    let output = '';
    for (const stream of [child.child.stdout!, child.child.stderr!]) stream.on('data', (c: Buffer) => (output += c.toString()));
    const email = `proc-${suffix()}@example.test`;
    expect((await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email, password: PASSWORD })).status).toBe(202);
    const verify = await t.mail.next(email, 'verify-email');
    expect((await call(url, 'POST', '/v1/accounts/verify', { token: verify.token })).status).toBe(200);
    const session = await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD });
    expect(session.status).toBe(201);
    const rotated = await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: session.body.refreshToken });
    expect(rotated.status).toBe(200);
    // a reset whose email cannot be handed over is logged as an error, without its token
    await t.mail.close();
    expect((await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email })).status).toBe(202);
    expect((await call(url, 'GET', '/v1/me', undefined, { authorization: `Bearer ${rotated.body.accessToken}` })).status).toBe(200);

    const code = await child.kill('SIGTERM');
    expect(code).toBe(0);
    expect(output).toContain('request completed');
    expect(output).toContain('account email could not be handed to notifications');
    for (const secret of [PASSWORD, verify.token, session.body.refreshToken, session.body.accessToken, rotated.body.refreshToken, rotated.body.accessToken]) {
      expect(output).not.toContain(secret);
    }
    child = undefined;
  });
});
