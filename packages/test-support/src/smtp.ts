/**
 * A real SMTP server on 127.0.0.1 (smtp-server, no TLS, any or no auth) that
 * keeps every message it accepts, for tests of what a service mails.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  /** MAIL FROM ('' for the null sender). */
  from: string;
  /** RCPT TO, in order. */
  to: string[];
  /** The message as sent (headers and body). */
  raw: string;
}

export interface SmtpCapture {
  port: number;
  /** Every accepted message, in order of arrival. */
  mails: CapturedMail[];
  close(): Promise<void>;
}

/** Starts the server on a port the kernel picks; `refuse(address)` true answers that recipient 550. */
export async function startSmtpCapture(options: { refuse?: (address: string) => boolean } = {}): Promise<SmtpCapture> {
  const mails: CapturedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (options.refuse?.(address.address)) return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
