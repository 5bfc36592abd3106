/**
 * An SMS provider simulator (no real carrier): records what it "sent" and
 * answers like a carrier API. Numbers ending in 0000 are unreachable
 * (permanent failure, suppressed); numbers ending in 9999 fail transiently
 * twice before they succeed. Latency is configurable.
 */
import { randomUUID } from 'node:crypto';
import { PermanentProviderError, type MessageProvider, type OutgoingMessage } from './provider.ts';

export interface SentSms {
  providerMessageId: string;
  id: string;
  to: string;
  body: string;
  at: number;
}

export interface SmsSimulator extends MessageProvider {
  readonly sent: readonly SentSms[];
}

export function createSmsSimulator(options: { latencyMs?: number } = {}): SmsSimulator {
  const sent: SentSms[] = [];
  const transientLeft = new Map<string, number>();
  return {
    name: 'sms',
    channel: 'sms',
    sent,
    async send(message: OutgoingMessage, signal: AbortSignal) {
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs).unref());
      signal.throwIfAborted();
      if (message.to.endsWith('0000')) throw new PermanentProviderError(`carrier: ${message.to} is not reachable`, { suppress: true });
      if (message.to.endsWith('9999')) {
        const left = transientLeft.get(message.id) ?? 2;
        if (left > 0) {
          transientLeft.set(message.id, left - 1);
          throw new Error('carrier: temporarily unavailable');
        }
      }
      const providerMessageId = `sms_${randomUUID()}`;
      sent.push({ providerMessageId, id: message.id, to: message.to, body: message.body, at: Date.now() });
      return { providerMessageId };
    },
    async close() {},
  };
}
