/**
 * The provider interface of email and SMS: one call hands a rendered message
 * to the provider and returns the provider's message id (what its delivery,
 * bounce and complaint webhooks refer to). A PermanentProviderError means
 * retrying cannot help (recipient rejected): no more attempts.
 */
import type { Channel } from '../store/messages-store.ts';

export interface OutgoingMessage {
  /** Our message id; providers that accept a caller id use it. */
  id: string;
  to: string;
  subject: string;
  body: string;
}

export interface MessageProvider {
  readonly name: string;
  readonly channel: Channel;
  send(message: OutgoingMessage, signal: AbortSignal): Promise<{ providerMessageId: string }>;
  /** Resolves when the provider would take a message now (SMTP: connect and greet); a provider without one is taken as up. */
  check?(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export class PermanentProviderError extends Error {
  /** The recipient itself is bad (hard bounce at submission): suppress it. */
  readonly suppress: boolean;
  constructor(message: string, options: { suppress?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PermanentProviderError';
    this.suppress = options.suppress ?? false;
  }
}
