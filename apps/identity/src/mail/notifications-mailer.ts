/**
 * Mailer over the notifications service's message API:
 * POST {NOTIFICATIONS_URL}/v1/tenants/:tenantId/messages with the
 * `verification-code` template (vars `code`, `minutes`) for both kinds, the
 * only account template notifications has today, and an idempotencyKey so a
 * retry after a timeout sends one email. notifications has no service
 * authentication yet; when it has, the token goes here.
 */
import { propagationHeaders } from '@bulwark/service-kit';
import type { AccountMail, Mailer } from './mailer.ts';

export interface NotificationsMailerOptions {
  baseUrl: string;
  timeoutMs: number;
}

export function createNotificationsMailer(options: NotificationsMailerOptions): Mailer {
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    async send(mail: AccountMail, signal: AbortSignal) {
      const res = await fetch(`${base}/v1/tenants/${encodeURIComponent(mail.tenantId)}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...propagationHeaders() },
        body: JSON.stringify({
          channel: 'email',
          to: mail.to,
          template: 'verification-code',
          vars: { code: mail.token, minutes: mail.expiresInMinutes },
          idempotencyKey: mail.idempotencyKey,
        }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      await res.arrayBuffer();
      // 200 (a replay of the same key) and 202 (queued) both mean it is on its way.
      if (res.status !== 200 && res.status !== 202) throw new Error(`notifications answered ${res.status}`);
    },
  };
}
