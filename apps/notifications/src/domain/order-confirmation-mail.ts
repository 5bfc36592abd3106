/**
 * Use case "order confirmation mail": an order-confirmed event becomes the
 * `order-confirmed` email to the order's customer, at most once per order.
 * Two steps, so no transaction waits on identity:
 * - `lookUpConfirmationContact`, before the consumer's transaction opens: the
 *   customer (an identity account id, carried by the event) is looked up at
 *   identity for the address, name and locale. A failed lookup throws, so the
 *   event goes through the consumer's retry topics; on the last attempt the
 *   mail is given up (counted, logged) so that the event's webhooks still go
 *   out.
 * - `queueOrderConfirmation`, in the consumer's transaction: the message is
 *   queued through the ordinary pipeline (suppression list, rendering, the
 *   message queue's rate limit and retries) with the idempotency key
 *   `order-confirmed:<orderId>`: a redelivered event is already marked
 *   processed, and the same order confirmed under another event id finds the
 *   key taken.
 */
import { isAppError } from '@bulwark/errors';
import type { CloudEvent, HandlerContext, PrepareContext } from '@bulwark/events';
import type { AccountContact, IdentityAccounts } from '../clients/identity-accounts.ts';
import type { Channel } from '../store/messages-store.ts';
import type { TemplateRegistry } from '../templates.ts';
import { queueMessageIn } from './send-message.ts';

export type ConfirmationOutcome = 'queued' | 'duplicate' | 'suppressed' | 'no_customer' | 'no_account' | 'lookup_failed';

export interface ConfirmationMailDeps {
  accounts: IdentityAccounts;
  templates: TemplateRegistry;
  providerFor: (channel: Channel) => string;
  /** The consumer's attempts per event: the last one gives a failing lookup up. */
  maxAttempts: number;
}

export const confirmationKey = (orderId: string): string => `order-confirmed:${orderId}`;

type ConfirmationEvent = CloudEvent<{ orderId: string; customerId?: string | undefined }>;

/** Who to mail, or why nobody: what the lookup before the transaction found. */
export type ConfirmationContact = { found: AccountContact } | { skipped: Exclude<ConfirmationOutcome, 'queued' | 'duplicate' | 'suppressed'> };

/** Before the transaction: the customer's contact at identity. Throws (a retried attempt) while attempts are left. */
export async function lookUpConfirmationContact(deps: ConfirmationMailDeps, event: ConfirmationEvent, ctx: PrepareContext): Promise<ConfirmationContact> {
  const { orderId, customerId } = event.data;
  if (!customerId) return { skipped: 'no_customer' }; // an event from before orders named the customer
  let contact;
  try {
    contact = await deps.accounts.contact(customerId);
  } catch (err) {
    if (ctx.attempt < deps.maxAttempts) throw err;
    ctx.log.error({ err, orderId, eventId: event.id, attempt: ctx.attempt }, 'order confirmation mail given up: the customer lookup at identity kept failing');
    return { skipped: 'lookup_failed' };
  }
  if (!contact) {
    ctx.log.warn({ orderId, customerId }, 'order confirmation mail skipped: identity has no such account');
    return { skipped: 'no_account' };
  }
  return { found: contact };
}

/** In the consumer's transaction: queues the mail to the contact the lookup found. */
export async function queueOrderConfirmation(deps: ConfirmationMailDeps, event: ConfirmationEvent, ctx: HandlerContext, lookup: ConfirmationContact): Promise<ConfirmationOutcome> {
  if ('skipped' in lookup) return lookup.skipped;
  const contact = lookup.found;
  const { orderId } = event.data;
  try {
    const { created } = await queueMessageIn(ctx.db, deps, {
      tenantId: contact.tenantId,
      channel: 'email',
      to: contact.email,
      template: 'order-confirmed',
      locale: contact.locale ?? 'en',
      vars: { name: contact.name ?? contact.email, orderId },
      idempotencyKey: confirmationKey(orderId),
      sourceEventId: event.id,
    });
    return created ? 'queued' : 'duplicate';
  } catch (err) {
    if (isAppError(err) && err.code === 'NOTIFICATIONS_RECIPIENT_SUPPRESSED') return 'suppressed';
    // The order's mail exists already (rendered with what the account was then, e.g. another name).
    if (isAppError(err) && err.code === 'NOTIFICATIONS_IDEMPOTENCY_KEY_REUSED') return 'duplicate';
    throw err;
  }
}
