/**
 * Email/SMS: `queueMessage` renders the template at request time (missing
 * variables are the caller's 422, not a failed job), refuses suppressed
 * recipients and records the message `queued`; the message job hands it to
 * its provider (rate-limited per provider by the queue) and marks it `sent`.
 * The row is the truth: a job for a message no longer queued does nothing.
 * The job names only the message: its tenant is read in the system context
 * (`notifications.message-worker`), and the send runs in that tenant's scope.
 */
import { randomUUID } from 'node:crypto';
import { withSystemContext, withTenant, withTransaction, type DbPool, type Queryable } from '@bulwark/db';
import { NonRetryableError, type JobHandler } from '@bulwark/jobs';
import type { Logger } from 'pino';
import { notificationsError } from '../errors.ts';
import type { NotificationsMetrics } from '../metrics.ts';
import { PermanentProviderError, type MessageProvider } from '../providers/provider.ts';
import type { TemplateRegistry, Vars } from '../templates.ts';
import {
  addSuppression,
  findMessageById,
  insertMessage,
  isSuppressed,
  markMessageAttemptFailed,
  markMessageSent,
  markMessageSuppressed,
  tenantOfMessage,
  type Channel,
  type Message,
} from '../store/messages-store.ts';
import type { MessageJob } from './dispatcher.ts';

export interface QueueMessageInput {
  tenantId: string;
  channel: Channel;
  to: string;
  template: string;
  locale: string;
  vars: Vars;
  idempotencyKey?: string;
  sourceEventId?: string;
}

/** Canonical form of a recipient (the suppression list key). */
export function normalizeRecipient(channel: Channel, to: string): string {
  return channel === 'email' ? to.trim().toLowerCase() : to.replace(/[\s()-]/g, '');
}

export async function queueMessage(
  deps: { pool: DbPool; templates: TemplateRegistry; providerFor: (channel: Channel) => string },
  input: QueueMessageInput,
): Promise<{ message: Message; created: boolean }> {
  return withTransaction(deps.pool, (tx) => queueMessageIn(tx, deps, input));
}

/** queueMessage inside the caller's transaction (a Kafka handler's, with its processed-event mark). */
export async function queueMessageIn(
  tx: Queryable,
  deps: { templates: TemplateRegistry; providerFor: (channel: Channel) => string },
  input: QueueMessageInput,
): Promise<{ message: Message; created: boolean }> {
  const recipient = normalizeRecipient(input.channel, input.to);
  const rendered = deps.templates.render(input.template, input.locale, input.vars, { escapeBody: input.channel === 'email' });
  if (await isSuppressed(tx, input.channel, recipient)) {
    throw notificationsError('NOTIFICATIONS_RECIPIENT_SUPPRESSED', `${input.channel} recipient is on the suppression list`, { channel: input.channel });
  }
  const result = await insertMessage(tx, {
    id: randomUUID(),
    tenantId: input.tenantId,
    channel: input.channel,
    recipient,
    template: input.template,
    locale: input.locale,
    subject: rendered.subject,
    body: rendered.body,
    provider: deps.providerFor(input.channel),
    idempotencyKey: input.idempotencyKey,
    sourceEventId: input.sourceEventId,
    status: 'queued',
  });
  const m = result.message;
  if (!result.created && (m.channel !== input.channel || m.recipient !== recipient || m.template !== input.template || m.body !== rendered.body || m.subject !== rendered.subject)) {
    throw notificationsError('NOTIFICATIONS_IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different message', { messageId: m.id });
  }
  return result;
}

export function createMessageHandler(deps: {
  pool: DbPool;
  providers: ReadonlyMap<string, MessageProvider>;
  maxAttempts: number;
  log: Logger;
  metrics: NotificationsMetrics;
}): JobHandler<MessageJob> {
  const send = sendMessage(deps);
  return async (job) => {
    const tenant = await withSystemContext(deps.pool, 'notifications.message-worker', () => tenantOfMessage(deps.pool, job.data.messageId));
    if (tenant === undefined) return { skipped: 'missing' };
    return withTenant(tenant, () => send(job));
  };
}

/** One send, in the message's tenant scope. */
function sendMessage(deps: Parameters<typeof createMessageHandler>[0]): JobHandler<MessageJob> {
  return async (job) => {
    const m = await findMessageById(deps.pool, job.data.messageId);
    if (!m || m.status !== 'queued') return { skipped: m?.status ?? 'missing' };
    if (await isSuppressed(deps.pool, m.channel, m.recipient)) {
      await markMessageSuppressed(deps.pool, m.id);
      deps.metrics.messages.inc({ channel: m.channel, outcome: 'suppressed' });
      return { skipped: 'suppressed' };
    }
    const provider = deps.providers.get(m.provider);
    if (!provider) throw new NonRetryableError(`no provider ${m.provider}`);
    try {
      const { providerMessageId } = await provider.send({ id: m.id, to: m.recipient, subject: m.subject, body: m.body }, job.signal);
      await markMessageSent(deps.pool, m.id, providerMessageId);
      deps.metrics.messages.inc({ channel: m.channel, outcome: 'sent' });
      return { providerMessageId };
    } catch (err) {
      const permanent = err instanceof PermanentProviderError;
      const final = permanent || job.attempt >= deps.maxAttempts;
      await withTransaction(deps.pool, async (tx) => {
        await markMessageAttemptFailed(tx, m.id, (err as Error).message, final);
        if (permanent && err.suppress) await addSuppression(tx, { channel: m.channel, recipient: m.recipient, reason: 'bounce', messageId: m.id, detail: err.message });
      });
      deps.metrics.messages.inc({ channel: m.channel, outcome: 'failed' });
      if (final) deps.log.warn({ messageId: m.id, channel: m.channel, err }, 'message failed for good');
      if (permanent) throw new NonRetryableError(err.message, { cause: err });
      throw err;
    }
  };
}
