/**
 * Email through a real local SMTP server (test-support's SMTP capture) and SMS
 * through the simulator: templates per locale with escaping, missing
 * variables as 422, tracking states, signed provider webhooks feeding the
 * suppression list, permanent SMTP rejections, per-provider rate limits.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '@bulwark/jobs';
import { SIGNATURE_HEADER, signatureHeader } from '@bulwark/webhook-signature';
import type { NotificationsApp } from '../src/app.ts';
import { createSmsSimulator } from '../src/providers/sms-simulator.ts';
import { createSmtpProvider } from '../src/providers/smtp-provider.ts';
import { freePort, startSmtpCapture, type SmtpCapture } from '@bulwark/test-support';
import { call, PROVIDER_SECRET, setupNotifications, waitFor, type TestNotifications } from './support.ts';

let smtp: SmtpCapture;
let smtpPort: number;

beforeAll(async () => {
  smtp = await startSmtpCapture({ refuse: (address) => address.startsWith('nobody@') });
  smtpPort = smtp.port;
});
afterAll(async () => {
  await smtp.close();
});

let t: TestNotifications;
let app: NotificationsApp;
let url: string;
const tn = 'shop-1';

beforeEach(async () => {
  t = await setupNotifications();
  ({ app, url } = await t.startApp({ SMTP_PORT: String(smtpPort), SMTP_IGNORE_TLS: 'true', MESSAGE_MAX_ATTEMPTS: '4' }));
});
afterEach(async () => {
  await t.cleanup();
});

const send = (body: Record<string, unknown>) => call(url, 'POST', `/v1/tenants/${tn}/messages`, body);
const message = async (id: string) => (await call(url, 'GET', `/v1/tenants/${tn}/messages/${id}`)).body;
const untilStatus = (id: string, status: string) => waitFor(async () => (await message(id)).status === status, `message ${id} ${status}`);

function providerEvent(provider: string, event: unknown, options: { secret?: string; at?: number; tamper?: boolean } = {}) {
  const body = JSON.stringify(event);
  const header = signatureHeader(body, [options.secret ?? PROVIDER_SECRET], options.at);
  return call(url, 'POST', `/v1/providers/${provider}/events`, options.tamper ? body.replace('"', ' "') : body, { 'content-type': 'application/json', [SIGNATURE_HEADER]: header });
}

describe('email', () => {
  it('when an email is sent from a German template, then the SMTP server receives it with variables escaped, and delivery, bounce and suppression follow the provider webhooks', async () => {
    const to = `kim-${randomUUID().slice(0, 6)}@example.com`;
    const r = await send({ channel: 'email', to: to.toUpperCase(), template: 'order-confirmed', locale: 'de-AT', vars: { name: '<Kim & Co>', orderId: 'o-42' } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'queued', recipient: to, subject: 'Bestellung o-42 bestätigt', provider: 'smtp' });
    await untilStatus(r.body.id, 'sent');
    const mail = smtp.mails.find((m) => m.to.includes(to))!;
    expect(mail.raw).toContain('&lt;Kim &amp; Co&gt;');
    expect(mail.raw).not.toContain('<Kim & Co>');
    const sent = await message(r.body.id);
    expect(mail.raw.replace(/\r?\n\s+/g, ' ')).toContain(`Message-ID: ${sent.providerMessageId}`); // header may be folded

    const delivered = await providerEvent('smtp', { type: 'delivered', messageId: sent.providerMessageId });
    expect(delivered.body).toMatchObject({ outcome: 'applied', messageId: r.body.id, suppressed: false });
    expect((await message(r.body.id)).status).toBe('delivered');
    const bounced = await providerEvent('smtp', { type: 'bounced', messageId: sent.providerMessageId, detail: '550 5.1.1 user unknown' });
    expect(bounced.body).toMatchObject({ outcome: 'applied', suppressed: true });
    expect((await message(r.body.id)).status).toBe('bounced');
    const suppressed = await call(url, 'GET', '/v1/suppressions?channel=email');
    expect(suppressed.body.suppressions).toContainEqual(expect.objectContaining({ recipient: to, reason: 'bounce', messageId: r.body.id }));

    const again = await send({ channel: 'email', to, template: 'order-confirmed', vars: { name: 'Kim', orderId: 'o-43' } });
    expect(again.status).toBe(422);
    expect(again.body.type).toMatch(/notifications-recipient-suppressed$/);
  });

  it('when provider webhooks are unsigned, tampered, stale, signed with another secret, malformed or unknown, then 4xx and nothing changes', async () => {
    const r = await send({ channel: 'email', to: 'lee@example.com', template: 'verification-code', vars: { code: '123456', minutes: 10 } });
    await untilStatus(r.body.id, 'sent');
    const { providerMessageId } = await message(r.body.id);
    const ev = { type: 'complained', messageId: providerMessageId };
    expect((await call(url, 'POST', '/v1/providers/smtp/events', ev)).status).toBe(401);
    expect((await providerEvent('smtp', ev, { tamper: true })).status).toBe(401);
    expect((await providerEvent('smtp', ev, { at: Math.floor(Date.now() / 1000) - 3600 })).status).toBe(401);
    expect((await providerEvent('smtp', ev, { secret: 'another_secret_0123456789abcdef' })).status).toBe(401);
    expect((await providerEvent('smtp', { type: 'exploded', messageId: providerMessageId })).status).toBe(400);
    expect((await providerEvent('smtp', { type: 'bounced', messageId: '<unknown@x>' })).status).toBe(404);
    expect((await providerEvent('fax', ev)).status).toBe(400);
    expect((await message(r.body.id)).status).toBe('sent');
    expect((await call(url, 'GET', '/v1/suppressions')).body.suppressions).toHaveLength(0);
    const complained = await providerEvent('smtp', ev);
    expect(complained.body).toMatchObject({ outcome: 'applied', suppressed: true });
    expect((await message(r.body.id)).status).toBe('complained');
  });

  it('when template variables are missing or input is bad, then 4xx problem+json; the same idempotency key returns the same message', async () => {
    const missing = await send({ channel: 'email', to: 'a@example.com', template: 'order-confirmed', vars: { name: 'A' } });
    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ missing: ['orderId'] });
    expect(missing.body.type).toMatch(/notifications-template-variable-missing$/);
    expect((await send({ channel: 'email', to: 'a@example.com', template: 'no-such-template', vars: {} })).status).toBe(404);
    expect((await send({ channel: 'email', to: 'not-an-address', template: 'verification-code', vars: { code: 1, minutes: 1 } })).status).toBe(400);
    expect((await send({ channel: 'sms', to: '12345', template: 'verification-code', vars: { code: 1, minutes: 1 } })).status).toBe(400);
    expect((await send({ channel: 'pigeon', to: 'a@example.com', template: 'verification-code' })).status).toBe(400);
    const body = { channel: 'email', to: 'b@example.com', template: 'verification-code', vars: { code: '1', minutes: 5 }, idempotencyKey: 'k-1' };
    const first = await send(body);
    const second = await send(body);
    expect([first.status, second.status]).toEqual([202, 200]);
    expect(second.body.id).toBe(first.body.id);
    const reused = await send({ ...body, vars: { code: '2', minutes: 5 } });
    expect(reused.status).toBe(422);
    expect(reused.body.type).toMatch(/notifications-idempotency-key-reused$/);
    await untilStatus(first.body.id, 'sent');
    expect(smtp.mails.filter((m) => m.to.includes('b@example.com'))).toHaveLength(1);
  });

  it('when the SMTP server rejects the recipient with 550, then the message fails at once, the recipient is suppressed and the job is dead-lettered', async () => {
    const r = await send({ channel: 'email', to: 'nobody@example.com', template: 'verification-code', vars: { code: '9', minutes: 1 } });
    await untilStatus(r.body.id, 'failed');
    expect((await message(r.body.id)).attempts).toBe(1);
    expect((await call(url, 'GET', '/v1/suppressions')).body.suppressions).toContainEqual(expect.objectContaining({ recipient: 'nobody@example.com', reason: 'bounce' }));
    await waitFor(async () => (await listDeadLetters(app.messageQueue)).length === 1, 'the dead letter');
    expect((await listDeadLetters(app.messageQueue))[0]!.reason).toBe('non-retryable');
  });
});

describe('provider health', () => {
  it('when the SMTP server is unreachable, then /v1/providers/health, notifications_provider_up and /readyz (degraded) show smtp down while /readyz stays ready; with it reachable, up', async () => {
    const up = await call(url, 'GET', '/v1/providers/health');
    expect(up.body.providers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'smtp', channel: 'email', up: true, error: null }), expect.objectContaining({ name: 'sms', up: true })]));
    const readyUp = await call(url, 'GET', '/readyz');
    expect(readyUp.status).toBe(200);
    expect(readyUp.body.dependencies).toEqual(expect.arrayContaining(['provider-smtp', 'provider-sms']));
    expect(readyUp.body.degraded).toBeUndefined();
    await t.cleanup();
    t = await setupNotifications();
    const closed = await freePort(); // nothing listens there
    ({ app, url } = await t.startApp({ SMTP_PORT: String(closed), SMTP_IGNORE_TLS: 'true' }));
    const down = await call(url, 'GET', '/v1/providers/health');
    expect(down.body.providers).toContainEqual(expect.objectContaining({ name: 'smtp', up: false, error: expect.stringMatching(/ECONNREFUSED/) }));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^notifications_provider_up\{[^}]*provider="smtp"[^}]*\} 0$/m);
    const ready = await call(url, 'GET', '/readyz');
    expect(ready.status).toBe(200); // the webhook API stays in service
    expect(ready.body.degraded).toEqual([{ name: 'provider-smtp', reason: 'failed' }]);
  });
});

describe('sms', () => {
  it('when SMS are sent, then the simulator gets plain-text bodies; an unreachable number is suppressed, a flaky one is retried until sent', async () => {
    const ok = await send({ channel: 'sms', to: '+49 151 2345 678', template: 'verification-code', locale: 'de', vars: { code: '<42>', minutes: 5 } });
    const unreachable = await send({ channel: 'sms', to: '+4915100000000', template: 'verification-code', vars: { code: '1', minutes: 5 } });
    const flaky = await send({ channel: 'sms', to: '+4915199999999', template: 'verification-code', vars: { code: '2', minutes: 5 } });
    await untilStatus(ok.body.id, 'sent');
    await untilStatus(unreachable.body.id, 'failed');
    await untilStatus(flaky.body.id, 'sent');
    expect(app.sms!.sent.find((s) => s.id === ok.body.id)).toMatchObject({ to: '+491512345678', body: 'Dein Bulwark-Code ist <42>. Er läuft in 5 Minuten ab.' });
    expect((await message(flaky.body.id)).attempts).toBe(3); // two transient carrier failures, then sent
    expect((await send({ channel: 'sms', to: '+4915100000000', template: 'verification-code', vars: { code: '1', minutes: 5 } })).status).toBe(422);
    const sent = await message(ok.body.id);
    await providerEvent('sms', { type: 'delivered', messageId: sent.providerMessageId });
    expect((await message(ok.body.id)).status).toBe('delivered');
  });

  it('when many SMS and emails are queued, then the SMS provider limit admits at most its rate per window while emails are not held back by it', async () => {
    await t.cleanup();
    t = await setupNotifications();
    // The SMS provider holds every send until the gate opens: the email can only be sent meanwhile if it does not queue behind them.
    const sms = createSmsSimulator();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gatedSms = { ...sms, send: async (...args: Parameters<typeof sms.send>) => (await gate, sms.send(...args)) };
    const smtpProvider = createSmtpProvider({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, from: 'Bulwark <no-reply@bulwark.local>' });
    ({ app, url } = await t.startApp({ SMTP_PORT: String(smtpPort), SMTP_IGNORE_TLS: 'true', SMS_RATE_PER_SECOND: '2' }, { providers: [smtpProvider, gatedSms] }));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await send({ channel: 'sms', to: `+4915100011${i}1`, template: 'verification-code', vars: { code: String(i), minutes: 5 } })).body.id);
    const email = await send({ channel: 'email', to: 'fast@example.com', template: 'verification-code', vars: { code: 'x', minutes: 5 } });
    await untilStatus(email.body.id, 'sent');
    expect(sms.sent).toHaveLength(0); // the email went while every SMS was still held
    open();
    for (const id of ids) await untilStatus(id, 'sent');
    // The limiter's windows (BullMQ: a counter that expires one window after its first job): anchored at the first
    // job admitted after the previous window, each holds at most 2 admissions (processedOn).
    const smsJobs = await app.messageQueue.partitionQueues.get('notifications-messages.sms')!.getJobs(['completed']);
    expect(smsJobs).toHaveLength(6);
    const admitted = smsJobs.map((j) => j.processedOn!).sort((a, b) => a - b);
    const windows: number[][] = [];
    for (const at of admitted) {
      const current = windows.at(-1);
      if (current && at < current[0]! + 950) current.push(at); // 50 ms of slack for clock reads between Redis and the worker
      else windows.push([at]);
    }
    expect(windows.length).toBeGreaterThanOrEqual(3);
    for (const w of windows) expect(w.length).toBeLessThanOrEqual(2);
  });
});
