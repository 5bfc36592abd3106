/**
 * A provider's delivery report, bounce or complaint for a message it sent:
 * moves the message's tracking state, and a bounce or complaint puts the
 * recipient on the suppression list (later sends to it are refused). The
 * provider names its own message id, not a tenant: the message's tenant is
 * read in the system context (`notifications.provider-events`), and the
 * change runs in that tenant's scope.
 */
import { z } from 'zod';
import { withSystemContext, withTenant, withTransaction, type DbPool } from '@bulwark/db';
import { notificationsError } from '../errors.ts';
import { addSuppression, applyMessageOutcome, findMessageByProviderId, tenantOfProviderMessage } from '../store/messages-store.ts';

export const ProviderEvent = z.object({
  type: z.enum(['delivered', 'bounced', 'complained']),
  /** The provider's message id (SMTP: the Message-ID header). */
  messageId: z.string().min(1).max(500),
  /** bounce: hard (suppress) or soft (state only). */
  bounceType: z.enum(['hard', 'soft']).default('hard'),
  detail: z.string().max(1000).default(''),
});
export type ProviderEvent = z.output<typeof ProviderEvent>;

export async function applyProviderEvent(pool: DbPool, provider: string, event: ProviderEvent): Promise<{ outcome: 'applied' | 'ignored'; messageId: string; suppressed: boolean }> {
  const unknown = () => notificationsError('NOTIFICATIONS_PROVIDER_MESSAGE_UNKNOWN', `provider ${provider} has no message ${event.messageId}`, { provider });
  const tenant = await withSystemContext(pool, 'notifications.provider-events', () => tenantOfProviderMessage(pool, provider, event.messageId));
  if (tenant === undefined) throw unknown();
  return withTenant(tenant, () => withTransaction(pool, async (tx) => {
    const m = await findMessageByProviderId(tx, provider, event.messageId, true);
    if (!m) throw unknown();
    const applied = await applyMessageOutcome(tx, m.id, event.type, event.detail);
    const suppress = event.type === 'complained' || (event.type === 'bounced' && event.bounceType === 'hard');
    if (suppress) {
      await addSuppression(tx, { channel: m.channel, recipient: m.recipient, reason: event.type === 'complained' ? 'complaint' : 'bounce', messageId: m.id, detail: event.detail });
    }
    return { outcome: applied ? 'applied' : 'ignored', messageId: m.id, suppressed: suppress };
  }));
}
