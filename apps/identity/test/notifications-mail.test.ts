/**
 * The whole mail path for real: identity → the notifications service
 * (apps/notifications/src/main.ts as its own process, its own schema and
 * queue prefix, no Kafka) → SMTP → a real SMTP server (test-support's
 * SMTP capture) started here. The verification token is read from the email itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { deletePrefix, pgUrl, redisUrl, runtimeDbUrl, startService, startSmtpCapture, type CapturedMail, type Service, type SmtpCapture } from '@bulwark/test-support';
import { call, login, PASSWORD, setupIdentity, suffix, TENANT, waitFor, type TestIdentity } from './support.ts';

const id = suffix();
const notificationsSchema = `notifications_idt_${id}`;
const jobsPrefix = `identity-test-${id}`;
let smtp: SmtpCapture;
let notifications: Service | undefined;
let t: TestIdentity;
let url: string;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  notifications = await startService({
    main: fileURLToPath(new URL('../../notifications/src/main.ts', import.meta.url)),
    name: 'notifications',
    env: {
      DATABASE_URL: await runtimeDbUrl(pgUrl()),
      MIGRATION_DATABASE_URL: pgUrl(),
      REDIS_URL: redisUrl(),
      NOTIFICATIONS_SCHEMA: notificationsSchema,
      JOBS_PREFIX: jobsPrefix,
      EVENTS_ENABLED: 'false',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_IGNORE_TLS: 'true',
      DISPATCH_INTERVAL_MS: '200',
      SHUTDOWN_DELAY_MS: '0',
    },
  });
  t = await setupIdentity();
  ({ url } = await t.start({ NOTIFICATIONS_URL: notifications.url }));
});

afterAll(async () => {
  await notifications?.stop();
  await smtp.close();
  await t.db.query(`DROP SCHEMA IF EXISTS "${notificationsSchema}" CASCADE`);
  await t.cleanup();
  await deletePrefix(redisUrl(), `${jobsPrefix}:`);
});

/** The token in "Your Bulwark code is <token>." of a received email (quoted-printable soft breaks undone). */
async function codeMailedTo(email: string, after: number): Promise<string> {
  let mail: CapturedMail | undefined;
  await waitFor(() => (mail = smtp.mails.slice(after).find((m) => m.to.includes(email))) !== undefined, `an email to ${email}`);
  const text = mail!.raw.replace(/=\r?\n/g, '');
  const code = /Your Bulwark code is ([A-Za-z0-9_-]{16,128})\./.exec(text)?.[1];
  if (!code) throw new Error(`no code in the email:\n${mail!.raw}`);
  return code;
}

describe('account emails through notifications and SMTP', () => {
  it('when an account registers and later resets its password, then both tokens arrive by SMTP and work', async () => {
    const email = `smtp-${suffix()}@example.test`;
    let before = smtp.mails.length;
    expect((await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email, password: PASSWORD })).status).toBe(202);
    const verifyCode = await codeMailedTo(email, before);
    expect((await call(url, 'POST', '/v1/accounts/verify', { token: verifyCode })).status).toBe(200);
    expect((await login(url, email)).status).toBe(201);

    before = smtp.mails.length;
    expect((await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email })).status).toBe(202);
    const resetCode = await codeMailedTo(email, before);
    expect((await call(url, 'POST', '/v1/password-resets/confirm', { token: resetCode, password: 'amber-lantern-harbour-8' })).status).toBe(204);
    expect((await login(url, email, 'amber-lantern-harbour-8')).status).toBe(201);
  });
});
