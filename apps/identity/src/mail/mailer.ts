/**
 * The seam through which identity sends account emails (verification,
 * password reset, organisation invitations). One interface, one implementation today
 * (notifications-mailer.ts: the notifications service's message API); tests
 * stand a real HTTP receiver in for notifications at NOTIFICATIONS_URL.
 *
 * Sending happens after the transaction committed and is not awaited by the
 * request (MailOutbox): the answer is the same, and takes as long, whether an
 * email went out or not, so the routes reveal nothing about which accounts
 * exist. A failed send is logged and counted; the user asks again.
 */
import { backoffDelay } from '@bulwark/service-kit/backoff';
import type { Logger } from '@bulwark/service-kit';

/** invitation: into an organisation (same template: the token is the code the invitee enters). */
export type AccountMailKind = 'verify-email' | 'reset-password' | 'invitation';

export interface AccountMail {
  kind: AccountMailKind;
  tenantId: string;
  to: string;
  /** The single-use token the user proves control of the address with. Never logged. */
  token: string;
  expiresInMinutes: number;
  /** Same key, same message: lets the transport retry safely. */
  idempotencyKey: string;
}

export interface Mailer {
  send(mail: AccountMail, signal: AbortSignal): Promise<void>;
}

export interface MailOutboxOptions {
  mailer: Mailer;
  log: Logger;
  attempts?: number;
  onOutcome?: (kind: AccountMailKind, outcome: 'sent' | 'failed') => void;
}

/** Sends in the background with a few retries; `drain()` at shutdown waits for what is in flight. */
export class MailOutbox {
  readonly #options: MailOutboxOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();

  constructor(options: MailOutboxOptions) {
    this.#options = options;
  }

  get pending(): number {
    return this.#inFlight.size;
  }

  enqueue(mail: AccountMail): void {
    const p = this.#send(mail).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Waits up to `deadlineMs` for sends in flight, then aborts the rest. */
  async drain(deadlineMs = 5_000): Promise<void> {
    const timer = setTimeout(() => this.#abort.abort(new Error('shutting down')), deadlineMs);
    await Promise.allSettled([...this.#inFlight]);
    clearTimeout(timer);
  }

  async #send(mail: AccountMail): Promise<void> {
    const attempts = this.#options.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#options.mailer.send(mail, this.#abort.signal);
        this.#options.onOutcome?.(mail.kind, 'sent');
        return;
      } catch (err) {
        if (attempt >= attempts || this.#abort.signal.aborted) {
          this.#options.log.error({ err, kind: mail.kind, tenantId: mail.tenantId }, 'account email could not be handed to notifications');
          this.#options.onOutcome?.(mail.kind, 'failed');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, { baseMs: 100, capMs: 1_000, jitter: 'equal' })));
      }
    }
  }
}
