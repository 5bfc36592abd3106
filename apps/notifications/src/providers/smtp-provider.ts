/**
 * Email through an SMTP relay with nodemailer (pooled connections). The
 * Message-ID header carries our message id, so bounce and complaint
 * webhooks can name it. A 5xx reply is permanent; 550/551/553 (mailbox
 * unknown or refused) also suppresses the recipient.
 */
import nodemailer from 'nodemailer';
import { PermanentProviderError, type MessageProvider, type OutgoingMessage } from './provider.ts';

export interface SmtpProviderOptions {
  host: string;
  port: number;
  secure: boolean;
  ignoreTLS: boolean;
  user?: string;
  password?: string;
  from: string;
  /** Domain of generated Message-IDs. */
  messageIdDomain?: string;
}

export function createSmtpProvider(options: SmtpProviderOptions): MessageProvider {
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    ignoreTLS: options.ignoreTLS,
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    socketTimeout: 30_000,
    ...(options.user ? { auth: { user: options.user, pass: options.password ?? '' } } : {}),
  });
  const domain = options.messageIdDomain ?? 'notifications.bulwark.local';
  return {
    name: 'smtp',
    channel: 'email',
    async send(message: OutgoingMessage) {
      const messageId = `<${message.id}@${domain}>`;
      try {
        await transport.sendMail({ from: options.from, to: message.to, subject: message.subject, html: message.body, messageId, headers: { 'X-Bulwark-Message-Id': message.id } });
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500) throw new PermanentProviderError(`SMTP ${code}: ${(err as Error).message}`, { suppress: [550, 551, 553].includes(code), cause: err });
        throw err;
      }
      return { providerMessageId: messageId };
    },
    async check(signal: AbortSignal) {
      // verify() opens its own connection (not one of the pool's): connect, greeting, EHLO, STARTTLS and AUTH when configured.
      signal.throwIfAborted();
      await Promise.race([
        transport.verify(),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new Error('SMTP check aborted')), { once: true })),
      ]);
    },
    async close() {
      transport.close();
    },
  };
}
