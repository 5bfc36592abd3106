/**
 * Persistence of checkout sagas (migrations/0003): create, claim with a lease
 * (FOR UPDATE SKIP LOCKED, so several runners never run one saga at once),
 * and record a decision — the saga row, its step log and the saga's domain
 * event on the order stream in ONE transaction, so the event reaches Kafka
 * (CDC relay) exactly when the state change is durable.
 */
import type { DbClient, DbPool, Queryable } from '@bulwark/db';
import { withTransaction } from '@bulwark/db';
import type { OrderEvent } from '../domain/events.ts';
import { ORDER_STREAM_TYPE } from '../domain/order.ts';
import { ordersError, VersionConflictError } from '../errors.ts';
import { isTerminal, type SagaEvent, type SagaState, type StepOutcome } from '../saga/checkout-saga.ts';
import { appendToStream, streamVersion } from './event-store.ts';

export interface SagaRow {
  state: SagaState;
  expired: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface SagaStepLog {
  step: string;
  outcome: string;
  detail: string | null;
  at: Date;
}

const ts = (ms: number): Date => new Date(ms);

/** Inserts a new saga unless the order already has one; returns the order's saga either way. */
export async function insertSaga(db: Queryable, state: SagaState): Promise<{ state: SagaState; created: boolean }> {
  const { rowCount } = await db.query({
    name: 'orders.saga.insert',
    text: `INSERT INTO checkout_sagas (saga_id, order_id, status, step, state, next_attempt_at, deadline_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING`,
    values: [state.sagaId, state.orderId, state.status, state.step, JSON.stringify(state), ts(state.nextAttemptAt), ts(state.deadlineAt)],
  });
  if (rowCount === 1) return { state, created: true };
  const existing = await findSagaByOrder(db, state.orderId);
  return { state: existing!.state, created: false };
}

export async function findSagaByOrder(db: Queryable, orderId: string): Promise<SagaRow | undefined> {
  const { rows } = await db.query<{ state: SagaState; expired: boolean; created_at: Date; updated_at: Date }>({
    name: 'orders.saga.by_order',
    text: 'SELECT state, expired, created_at, updated_at FROM checkout_sagas WHERE order_id = $1',
    values: [orderId],
  });
  const row = rows[0];
  return row && { state: row.state, expired: row.expired, createdAt: row.created_at, updatedAt: row.updated_at };
}

export async function sagaSteps(db: Queryable, sagaId: string): Promise<SagaStepLog[]> {
  const { rows } = await db.query<{ step: string; outcome: string; detail: string | null; at: Date }>({
    name: 'orders.saga.steps',
    text: 'SELECT step, outcome, detail, at FROM checkout_saga_steps WHERE saga_id = $1 ORDER BY seq',
    values: [sagaId],
  });
  return rows;
}

/** A claimed saga and the tenant whose order it checks out (its steps run scoped to it). */
export interface ClaimedSaga {
  state: SagaState;
  tenant: string;
}

/**
 * Claims up to `limit` due sagas for `owner`: unfinished, due, and not leased
 * (or their lease ran out — the owner died). Every tenant's: call it in the
 * system context. A saga of no tenant (written before tenants) is not
 * claimed: nothing could drive it, as its order is visible to no tenant.
 */
export async function claimDueSagas(db: Queryable, owner: string, limit: number, leaseMs: number): Promise<ClaimedSaga[]> {
  const { rows } = await db.query<{ state: SagaState; tenant_id: string }>({
    name: 'orders.saga.claim',
    text: `WITH due AS (
             SELECT saga_id FROM checkout_sagas
             WHERE status IN ('running', 'compensating') AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
               AND tenant_id IS NOT NULL
             ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           UPDATE checkout_sagas s SET lease_owner = $1, lease_until = now() + $3 * interval '1 millisecond'
           FROM due WHERE s.saga_id = due.saga_id RETURNING s.state, s.tenant_id`,
    values: [owner, limit, leaseMs],
  });
  return rows.map((r) => ({ state: r.state, tenant: r.tenant_id }));
}

/** Gives a saga's lease back (shutdown, or waiting for a backoff). */
export async function releaseLease(db: Queryable, sagaId: string, owner: string): Promise<void> {
  await db.query({ name: 'orders.saga.release', text: 'UPDATE checkout_sagas SET lease_owner = NULL, lease_until = NULL WHERE saga_id = $1 AND lease_owner = $2', values: [sagaId, owner] });
}

async function appendSagaEvent(client: DbClient, orderId: string, event: SagaEvent): Promise<void> {
  // The registry row serialises the saga writers of this order. Commands append optimistically without
  // it, so a command landing first shows up as a version conflict: step back and append at the new head.
  await client.query({ name: 'orders.saga.lock_stream', text: 'SELECT 1 FROM streams WHERE stream_id = $1 FOR UPDATE', values: [orderId] });
  for (let attempt = 1; ; attempt++) {
    // Never version 0: that would create the order's stream with a saga event as its first (issue 24's
    // "cancel before created" class). A saga only exists for an order that does.
    const version = await streamVersion(client, orderId);
    if (version === undefined) throw ordersError('ORDERS_NOT_FOUND', `order ${orderId} has no event stream; the saga event is not appended`, { orderId });
    await client.query('SAVEPOINT saga_append');
    try {
      await appendToStream(client, orderId, ORDER_STREAM_TYPE, version, [event as OrderEvent]);
      await client.query('RELEASE SAVEPOINT saga_append');
      return;
    } catch (err) {
      if (!(err instanceof VersionConflictError) || attempt >= 5) throw err;
      await client.query('ROLLBACK TO SAVEPOINT saga_append');
    }
  }
}

export interface RecordInput {
  owner: string;
  leaseMs: number;
  /** The state the step ran from (its step is logged). */
  from: SagaState;
  to: SagaState;
  outcome: StepOutcome | { kind: 'expired' };
  event?: SagaEvent;
  expired: boolean;
  /** Keep the lease (the runner continues at once) or give it back. */
  keepLease: boolean;
}

/**
 * Records one decision if `owner` still holds the lease; false when the lease
 * was lost (another runner took the saga over: it redoes the step under the
 * same idempotency key, so dropping this result is safe).
 */
export async function recordDecision(pool: DbPool, input: RecordInput): Promise<boolean> {
  const { from, to } = input;
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query({
      name: 'orders.saga.lock',
      text: 'SELECT 1 FROM checkout_sagas WHERE saga_id = $1 AND lease_owner = $2 AND lease_until > now() FOR UPDATE',
      values: [from.sagaId, input.owner],
    });
    if (!rowCount) return false;
    if (input.event) await appendSagaEvent(client, to.orderId, input.event);
    const keep = input.keepLease && !isTerminal(to.status);
    await client.query({
      name: 'orders.saga.update',
      text: `UPDATE checkout_sagas SET status = $2, step = $3, state = $4, next_attempt_at = $5, expired = expired OR $6,
               lease_owner = CASE WHEN $7 THEN lease_owner END, lease_until = CASE WHEN $7 THEN now() + $8 * interval '1 millisecond' END, updated_at = now()
             WHERE saga_id = $1`,
      values: [to.sagaId, to.status, to.step, JSON.stringify(to), ts(to.nextAttemptAt), input.expired, keep, input.leaseMs],
    });
    const outcome = input.outcome;
    await client.query({
      name: 'orders.saga.log_step',
      text: 'INSERT INTO checkout_saga_steps (saga_id, step, outcome, detail) VALUES ($1, $2, $3, $4)',
      values: [from.sagaId, from.step ?? 'none', outcome.kind, 'reason' in outcome ? outcome.reason : null],
    });
    return true;
  });
}

/** Sagas per status (metrics). */
export async function countSagas(db: Queryable): Promise<{ status: string; count: number; overdue: number }[]> {
  const { rows } = await db.query<{ status: string; count: number; overdue: number }>({
    name: 'orders.saga.counts',
    text: `SELECT status, count(*)::int AS count, count(*) FILTER (WHERE status = 'running' AND deadline_at < now())::int AS overdue
           FROM checkout_sagas GROUP BY status`,
  });
  return rows;
}
