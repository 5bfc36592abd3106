/**
 * SQL of the orphan authorization reconciler: its advisory lock, which PSP
 * intents have a payment, and the record of voided orphans.
 */
import type { Queryable } from '@bulwark/db';
import type { PaymentIntent } from '../psp/intent.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Takes the transaction-scoped advisory lock `name` if free: one replica's
 * pass holds it until its transaction ends; the others skip their pass.
 */
export async function tryLockForTransaction(tx: Queryable, name: string): Promise<boolean> {
  const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [name]);
  return rows[0]!.locked;
}

/** The intents among `intents` that a payment row names, by PSP intent id or by the payment id in the metadata. */
export async function ownedIntentIds(db: Queryable, intents: readonly PaymentIntent[]): Promise<Set<string>> {
  if (intents.length === 0) return new Set();
  const paymentIds = intents.map((i) => i.metadata.paymentId).filter((id): id is string => id !== undefined && UUID.test(id));
  const { rows } = await db.query<{ id: string; pspIntentId: string | null }>(
    'SELECT id, psp_intent_id AS "pspIntentId" FROM payments WHERE psp_intent_id = ANY($1::text[]) OR id = ANY($2::uuid[])',
    [intents.map((i) => i.id), paymentIds],
  );
  const byPayment = new Set(rows.map((r) => r.id));
  const byIntent = new Set(rows.map((r) => r.pspIntentId));
  return new Set(intents.filter((i) => byIntent.has(i.id) || (i.metadata.paymentId !== undefined && byPayment.has(i.metadata.paymentId))).map((i) => i.id));
}

export async function recordOrphanVoid(db: Queryable, intent: PaymentIntent): Promise<void> {
  await db.query(
    `INSERT INTO psp_orphan_voids (psp_intent_id, payment_id, order_id, amount, currency, intent_created_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (psp_intent_id) DO NOTHING`,
    [intent.id, intent.metadata.paymentId ?? null, intent.metadata.orderId ?? null, intent.amount, intent.currency, intent.createdAt],
  );
}

/** True when the reconciler voided this intent as an orphan. */
export async function isVoidedOrphan(db: Queryable, pspIntentId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM psp_orphan_voids WHERE psp_intent_id = $1', [pspIntentId]);
  return rows.length > 0;
}
