import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import { ensureInfra } from '../infra/index.ts';

// The SMTP sink `npm run infra` / `up` starts for the platform's emails (issue 25): real SMTP in, a web inbox and its API out.
describe('mail sink (maildev)', () => {
  it('when a mail is sent over SMTP, then the inbox API returns it with its recipient, subject and text', async () => {
    const env = await ensureInfra(['mail']);
    const transport = nodemailer.createTransport({ host: env.BULWARK_SMTP_HOST, port: Number(env.BULWARK_SMTP_PORT), secure: false, ignoreTLS: true });
    const subject = `sink check ${randomUUID()}`;
    await transport.sendMail({ from: 'noreply@bulwark.test', to: 'someone@bulwark.test', subject, text: 'code 123456' });
    transport.close();
    const inbox = (await (await fetch(`${env.BULWARK_MAIL_URL}/api/email`)).json()) as { subject: string; text: string; to: { address: string }[] }[];
    const mail = inbox.find((m) => m.subject === subject);
    expect(mail).toMatchObject({ text: expect.stringContaining('code 123456'), to: [expect.objectContaining({ address: 'someone@bulwark.test' })] });
    // The web inbox a person opens (a browser asks for text/html).
    expect((await fetch(`${env.BULWARK_MAIL_URL}/`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toMatch(/text\/html/);
  });
});
