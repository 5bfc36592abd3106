/**
 * The global log: every event of every stream in one total order that
 * followers (projectors) can read after a checkpoint WITHOUT EVER MISSING an
 * event, even when transactions commit out of order.
 *
 * Why not just `ORDER BY id` (an identity/sequence)? Sequence values are
 * handed out at INSERT, not at COMMIT. Transaction A takes id 5, B takes
 * id 6 and commits first; a follower reading "id > 4" sees 6, checkpoints 6,
 * and never sees 5 when A commits a moment later. Filtering `id` by the
 * oldest running transaction is not enough either: xid order and sequence
 * order disagree whenever a transaction got its xid before another but
 * inserted after it.
 *
 * Design: every event row records the id of the transaction that wrote it
 * (`transaction_id xid8 DEFAULT pg_current_xact_id()`), and the global order
 * is (transaction_id, id). A follower only reads rows whose transaction id is
 * below `pg_snapshot_xmin(pg_current_snapshot())` — the oldest transaction
 * still in flight. Every transaction with a smaller xid has finished
 * (committed or rolled back), so no row can ever appear *behind* the
 * follower's checkpoint: the prefix it has read is final. A transaction that
 * commits late holds the visible horizon back until it ends, then its events
 * come out in their place. The price: one long-running writing transaction
 * (of ANY table in the database) stalls followers until it ends — visible as
 * projection lag. Positions are unique but not dense (ids of rolled-back
 * inserts are skipped), so a follower counts events, not position deltas.
 */
import type { Queryable } from '@bulwark/db';
import { EVENT_COLUMNS, toRecordedEvent, type RecordedEvent } from './event-store.ts';

/** A point in the global log: (transaction id, event row id), both decimal strings (xid8/bigint). */
export interface GlobalPosition {
  transactionId: string;
  id: string;
}

export const START: GlobalPosition = { transactionId: '0', id: '0' };

export function positionOf(transactionId: string, id: string): GlobalPosition {
  return { transactionId, id };
}

/** Compares two positions in log order (-1, 0, 1). */
export function comparePositions(a: GlobalPosition, b: GlobalPosition): number {
  const tx = BigInt(a.transactionId) - BigInt(b.transactionId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const id = BigInt(a.id) - BigInt(b.id);
  return id === 0n ? 0 : id < 0n ? -1 : 1;
}

/** `txid:id`, the position as one opaque string for APIs and logs. */
export function formatPosition(p: GlobalPosition): string {
  return `${p.transactionId}:${p.id}`;
}

/** Reads up to `limit` events after `after`, in global order, never past the oldest in-flight transaction. */
export async function readGlobalLog(db: Queryable, after: GlobalPosition, limit: number): Promise<RecordedEvent[]> {
  const { rows } = await db.query({
    name: 'orders.read_global_log',
    text: `SELECT ${EVENT_COLUMNS} FROM events
           WHERE (transaction_id, id) > ($1::xid8, $2::bigint)
             AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
           ORDER BY transaction_id, id
           LIMIT $3`,
    values: [after.transactionId, after.id, limit],
  });
  return rows.map((r) => toRecordedEvent(r as Parameters<typeof toRecordedEvent>[0]));
}

/** Events after `after` (readable or still in flight), capped at `cap`: the follower's lag. */
export async function countEventsAfter(db: Queryable, after: GlobalPosition, cap = 1_000_000): Promise<number> {
  const { rows } = await db.query<{ n: string }>({
    name: 'orders.count_after',
    text: 'SELECT count(*)::text AS n FROM (SELECT 1 FROM events WHERE (transaction_id, id) > ($1::xid8, $2::bigint) LIMIT $3) t',
    values: [after.transactionId, after.id, cap],
  });
  return Number(rows[0]?.n ?? 0);
}

/** The position of the last event committed so far (START when there is none), whether or not the horizon lets it be read yet. */
export async function lastCommittedPosition(db: Queryable): Promise<GlobalPosition> {
  const { rows } = await db.query<{ transaction_id: string; id: string }>({
    name: 'orders.last_committed',
    text: 'SELECT transaction_id::text AS transaction_id, id::text AS id FROM events ORDER BY transaction_id DESC, id DESC LIMIT 1',
  });
  const row = rows[0];
  return row ? positionOf(row.transaction_id, row.id) : START;
}
