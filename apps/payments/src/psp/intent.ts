/**
 * The PSP simulator's payment intent and its state machine, pure: no clock,
 * no storage. Every accepted transition bumps `version` by one and names what
 * happened (`Transition`), which is what webhooks carry and what receivers
 * order by: a receiver applies a snapshot only when its version is newer.
 *
 *   authorize ─┬─ authorized ─┬─ capture ─ captured ─ refund ─┬─ partially_refunded ─ refund ─ … ─ refunded
 *              └─ declined    └─ void ─ voided                └─ refunded
 */

/**
 * The largest amount (integer minor units) the PSP accepts for an intent,
 * a capture or a refund. It is the PSP's published limit; the payments API
 * takes its limit from this constant (MAX_PAYMENT_AMOUNT in
 * domain/payment-rules.ts), so an amount the PSP would refuse is refused at
 * the payments edge with a 400, never sent.
 */
export const MAX_INTENT_AMOUNT = 10_000_000_000;

export const INTENT_STATUSES = ['authorized', 'declined', 'captured', 'partially_refunded', 'refunded', 'voided'] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];

export type TransitionKind = 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded';

export interface PaymentIntent {
  id: string;
  amount: number;
  currency: string;
  status: IntentStatus;
  amountCaptured: number;
  amountRefunded: number;
  /** 1 after authorize/decline, +1 per later transition. */
  version: number;
  declineCode: string | null;
  metadata: Record<string, string>;
  /** When the intent was created (ISO 8601, the simulator's clock); the orphan reconciler lists by it. */
  createdAt: string;
  /** What the newest version did (a real PSP's latest charge/refund object). */
  lastTransition: Transition;
}

/** One accepted change of an intent: the webhook event's payload beside the snapshot. */
export interface Transition {
  kind: TransitionKind;
  /** Money moved by this transition (capture or refund amount; authorized amount for authorized). */
  amount: number;
  version: number;
}

export type Command = { type: 'capture'; amount?: number } | { type: 'void' } | { type: 'refund'; amount?: number };

export type CommandOutcome =
  | { ok: true; intent: PaymentIntent; transition: Transition }
  | { ok: false; reason: 'invalid_state' | 'amount_too_large' | 'invalid_amount'; message: string };

export interface NewIntent {
  id: string;
  amount: number;
  currency: string;
  metadata?: Record<string, string>;
  /** ISO 8601 creation time (the caller's clock: this module has none). */
  createdAt: string;
}

/** The outcome of an authorization attempt: authorized, or declined with a code. */
export function authorize(input: NewIntent, decline?: string): { intent: PaymentIntent; transition: Transition } {
  const transition: Transition = { kind: decline ? 'declined' : 'authorized', amount: input.amount, version: 1 };
  const intent: PaymentIntent = {
    id: input.id,
    amount: input.amount,
    currency: input.currency,
    status: decline ? 'declined' : 'authorized',
    amountCaptured: 0,
    amountRefunded: 0,
    version: 1,
    declineCode: decline ?? null,
    metadata: input.metadata ?? {},
    createdAt: input.createdAt,
    lastTransition: transition,
  };
  return { intent, transition };
}

const invalidState = (intent: PaymentIntent, action: string): CommandOutcome => ({
  ok: false,
  reason: 'invalid_state',
  message: `cannot ${action} an intent in status ${intent.status}`,
});

/** Applies capture, void or refund; never mutates the input. */
export function applyCommand(intent: PaymentIntent, command: Command): CommandOutcome {
  const version = intent.version + 1;
  switch (command.type) {
    case 'capture': {
      if (intent.status !== 'authorized') return invalidState(intent, 'capture');
      const amount = command.amount ?? intent.amount;
      if (!Number.isInteger(amount) || amount <= 0) return { ok: false, reason: 'invalid_amount', message: 'capture amount must be a positive integer' };
      if (amount > intent.amount) return { ok: false, reason: 'amount_too_large', message: `capture of ${amount} exceeds the authorized ${intent.amount}` };
      const transition: Transition = { kind: 'captured', amount, version };
      return { ok: true, intent: { ...intent, status: 'captured', amountCaptured: amount, version, lastTransition: transition }, transition };
    }
    case 'void': {
      if (intent.status !== 'authorized') return invalidState(intent, 'void');
      const transition: Transition = { kind: 'voided', amount: 0, version };
      return { ok: true, intent: { ...intent, status: 'voided', version, lastTransition: transition }, transition };
    }
    case 'refund': {
      if (intent.status !== 'captured' && intent.status !== 'partially_refunded') return invalidState(intent, 'refund');
      const remaining = intent.amountCaptured - intent.amountRefunded;
      const amount = command.amount ?? remaining;
      if (!Number.isInteger(amount) || amount <= 0) return { ok: false, reason: 'invalid_amount', message: 'refund amount must be a positive integer' };
      if (amount > remaining) return { ok: false, reason: 'amount_too_large', message: `refund of ${amount} exceeds the refundable ${remaining}` };
      const amountRefunded = intent.amountRefunded + amount;
      const status: IntentStatus = amountRefunded === intent.amountCaptured ? 'refunded' : 'partially_refunded';
      const transition: Transition = { kind: 'refunded', amount, version };
      return { ok: true, intent: { ...intent, status, amountRefunded, version, lastTransition: transition }, transition };
    }
  }
}

/** True when `next` is a newer snapshot of the same intent than `current` (receivers only move forward). */
export function isNewer(current: { version: number } | undefined, next: { version: number }): boolean {
  return current === undefined || next.version > current.version;
}
