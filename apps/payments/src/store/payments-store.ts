/**
 * SQL of the payments service, parameterised, returning plain objects.
 * Money columns are bigint in PostgreSQL and numbers here (minor units stay
 * far below 2^53). Every writer takes the transaction's client.
 */
import type { Queryable } from '@bulwark/db';
import { paymentIdForKey } from '../domain/payment-rules.ts';
import type { PaymentIntent, Transition } from '../psp/intent.ts';

export type PaymentStatus = 'pending' | PaymentIntent['status'];

export interface Payment {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  pspIntentId: string | null;
  pspVersion: number;
  amountCaptured: number;
  amountRefunded: number;
  declineCode: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface PaymentRow extends Payment {
  idempotencyKey: string;
  fingerprint: string;
}

const COLUMNS = `id, order_id AS "orderId", amount::float8 AS amount, currency, status, psp_intent_id AS "pspIntentId", psp_version AS "pspVersion",
  amount_captured::float8 AS "amountCaptured", amount_refunded::float8 AS "amountRefunded", decline_code AS "declineCode",
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;

export function publicPayment(row: PaymentRow): Payment {
  const { idempotencyKey: _k, fingerprint: _f, ...payment } = row;
  return payment;
}

/**
 * Inserts the pending row of a new payment and returns it (this transaction
 * holds its lock); undefined when the key already has one (then lock that
 * one to wait for its owner).
 */
export async function insertPendingPayment(db: Queryable, p: { id: string; orderId: string; amount: number; currency: string; key: string; fingerprint: string }): Promise<PaymentRow | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `INSERT INTO payments (id, order_id, amount, currency, status, idempotency_key, fingerprint) VALUES ($1, $2, $3, $4, 'pending', $5, $6)
     ON CONFLICT DO NOTHING
     RETURNING ${COLUMNS}, idempotency_key AS "idempotencyKey", fingerprint`,
    [p.id, p.orderId, p.amount, p.currency, p.key, p.fingerprint],
  );
  return rows[0];
}

export async function lockPaymentByKey(db: Queryable, key: string): Promise<PaymentRow | undefined> {
  const { rows } = await db.query<PaymentRow>(`SELECT ${COLUMNS}, idempotency_key AS "idempotencyKey", fingerprint FROM payments WHERE idempotency_key = $1 FOR UPDATE`, [key]);
  return rows[0];
}

export async function lockPayment(db: Queryable, where: { id: string } | { pspIntentId: string; id?: string }): Promise<PaymentRow | undefined> {
  const { rows } =
    'pspIntentId' in where
      ? await db.query<PaymentRow>(`SELECT ${COLUMNS}, idempotency_key AS "idempotencyKey", fingerprint FROM payments WHERE psp_intent_id = $1 OR id = $2 FOR UPDATE`, [where.pspIntentId, where.id ?? null])
      : await db.query<PaymentRow>(`SELECT ${COLUMNS}, idempotency_key AS "idempotencyKey", fingerprint FROM payments WHERE id = $1 FOR UPDATE`, [where.id]);
  return rows[0];
}

/**
 * The tenant of the payment an intent belongs to (by intent id or the
 * payment id the intent carries), read across tenants: call it in the
 * system context. Undefined when no payment owns the intent yet.
 */
export async function tenantOfIntent(db: Queryable, pspIntentId: string, paymentId: string | undefined): Promise<string | undefined> {
  const { rows } = await db.query<{ tenant_id: string | null }>({
    name: 'payments.tenant_of_intent',
    text: 'SELECT tenant_id FROM payments WHERE psp_intent_id = $1 OR id = $2 LIMIT 1',
    values: [pspIntentId, paymentId ?? null],
  });
  return rows[0]?.tenant_id ?? undefined;
}

export async function findPayment(db: Queryable, id: string): Promise<Payment | undefined> {
  const { rows } = await db.query<Payment>(`SELECT ${COLUMNS} FROM payments WHERE id = $1`, [id]);
  return rows[0];
}

export async function listPaymentsByOrder(db: Queryable, orderId: string): Promise<Payment[]> {
  const { rows } = await db.query<Payment>(`SELECT ${COLUMNS} FROM payments WHERE order_id = $1 ORDER BY created_at, id`, [orderId]);
  return rows;
}

/**
 * Moves the payment to the PSP snapshot when it is newer than what the row
 * reflects (intent version): duplicates and late, out-of-order events are
 * no-ops, so status never regresses. Returns whether it applied.
 */
export async function applyIntentSnapshot(db: Queryable, paymentId: string, intent: PaymentIntent): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE payments SET status = $3, psp_intent_id = $4, psp_version = $2, amount_captured = $5, amount_refunded = $6, decline_code = $7, updated_at = now()
     WHERE id = $1 AND psp_version < $2`,
    [paymentId, intent.version, intent.status, intent.id, intent.amountCaptured, intent.amountRefunded, intent.declineCode],
  );
  return rowCount === 1;
}

export const ACCOUNTS = { receivable: 'psp_receivable', sales: 'sales' } as const;

/**
 * Posts the balanced ledger rows of one money-moving PSP transition (capture
 * or refund), once per (payment, intent version) whatever path reports it
 * first (API answer or webhook, in any order). Returns rows inserted.
 */
export async function postLedger(db: Queryable, payment: { id: string; currency: string }, transition: Transition): Promise<number> {
  if (transition.kind !== 'captured' && transition.kind !== 'refunded') return 0;
  const sign = transition.kind === 'captured' ? 1 : -1;
  const kind = transition.kind === 'captured' ? 'capture' : 'refund';
  const { rowCount } = await db.query(
    `INSERT INTO ledger_entries (payment_id, psp_version, kind, account, amount, currency)
     VALUES ($1, $2, $3, $4, $5, $7), ($1, $2, $3, $6, -$5::bigint, $7)
     ON CONFLICT DO NOTHING`,
    [payment.id, transition.version, kind, ACCOUNTS.receivable, sign * transition.amount, ACCOUNTS.sales, payment.currency],
  );
  return rowCount ?? 0;
}

/**
 * Records one PSP transition of a payment, once whatever path reports it
 * (API answer or webhook, in any order, any number of times): its ledger
 * rows and its outbox event. The event id is derived from (payment,
 * version), so even a re-recorded transition would carry the same id.
 */
export async function recordTransition(db: Queryable, payment: { id: string; orderId: string; currency: string }, intent: Pick<PaymentIntent, 'id' | 'declineCode'>, transition: Transition): Promise<void> {
  await postLedger(db, payment, transition);
  const data = {
    paymentId: payment.id,
    orderId: payment.orderId,
    pspIntentId: intent.id,
    amount: transition.amount,
    currency: payment.currency,
    version: transition.version,
    declineCode: transition.kind === 'declined' ? intent.declineCode : null,
  };
  await db.query(
    `INSERT INTO payment_events_outbox (event_id, payment_id, order_id, psp_version, type, data) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT DO NOTHING`,
    [paymentIdForKey(`event:${payment.id}:${transition.version}`), payment.id, payment.orderId, transition.version, transition.kind, JSON.stringify(data)],
  );
}

export interface OperationRow {
  paymentId: string;
  kind: 'capture' | 'void' | 'refund';
  fingerprint: string;
  responseStatus: number | null;
  responseBody: unknown;
}

export async function insertOperation(db: Queryable, op: { key: string; paymentId: string; kind: OperationRow['kind']; fingerprint: string }): Promise<boolean> {
  const { rowCount } = await db.query(`INSERT INTO payment_operations (idempotency_key, payment_id, kind, fingerprint) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [op.key, op.paymentId, op.kind, op.fingerprint]);
  return rowCount === 1;
}

export async function lockOperation(db: Queryable, key: string): Promise<OperationRow | undefined> {
  const { rows } = await db.query<OperationRow>(
    `SELECT payment_id AS "paymentId", kind, fingerprint, response_status AS "responseStatus", response_body AS "responseBody" FROM payment_operations WHERE idempotency_key = $1 FOR UPDATE`,
    [key],
  );
  return rows[0];
}

export async function completeOperation(db: Queryable, key: string, status: number, body: unknown): Promise<void> {
  await db.query(`UPDATE payment_operations SET response_status = $2, response_body = $3 WHERE idempotency_key = $1`, [key, status, JSON.stringify(body)]);
}

export async function recordWebhookEvent(db: Queryable, e: { id: string; paymentId: string; type: string; version: number }): Promise<boolean> {
  const { rowCount } = await db.query(`INSERT INTO psp_webhook_events (event_id, payment_id, type, psp_version, applied) VALUES ($1, $2, $3, $4, false) ON CONFLICT DO NOTHING`, [e.id, e.paymentId, e.type, e.version]);
  return rowCount === 1;
}

export async function markWebhookApplied(db: Queryable, eventId: string): Promise<void> {
  await db.query(`UPDATE psp_webhook_events SET applied = true WHERE event_id = $1`, [eventId]);
}

export interface Reconciliation {
  /** Sum of every ledger row: 0 when every posting is balanced. */
  ledgerTotal: number;
  /** Balance of the PSP receivable account: money the PSP holds for us. */
  receivable: number;
  /** Σ (captured − refunded) over payments. */
  capturedMinusRefunded: number;
  ok: boolean;
}

/** The reconciliation query: ledger balanced, and receivable == captured − refunded. */
export async function reconcile(db: Queryable): Promise<Reconciliation> {
  const { rows } = await db.query<{ ledgerTotal: number; receivable: number; capturedMinusRefunded: number }>(
    `SELECT (SELECT coalesce(sum(amount), 0)::float8 FROM ledger_entries) AS "ledgerTotal",
            (SELECT coalesce(sum(amount), 0)::float8 FROM ledger_entries WHERE account = $1) AS "receivable",
            (SELECT coalesce(sum(amount_captured - amount_refunded), 0)::float8 FROM payments) AS "capturedMinusRefunded"`,
    [ACCOUNTS.receivable],
  );
  const r = rows[0]!;
  return { ...r, ok: r.ledgerTotal === 0 && r.receivable === r.capturedMinusRefunded };
}
