/**
 * SQL of stock and reservations; plain objects out, parameterised
 * statements only. Row locks are always taken in the same order (the
 * reservation row, then SKU rows sorted by sku) so that reserve, confirm,
 * release and the sweeper cannot deadlock each other.
 */
import type { Queryable } from '@bulwark/db';

export interface SkuStock {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

export type ReservationStatus = 'held' | 'confirmed' | 'released';

export interface ReservationItem {
  sku: string;
  quantity: number;
}

export interface Reservation {
  id: string;
  orderId: string;
  status: ReservationStatus;
  releasedReason: 'requested' | 'expired' | null;
  expiresAt: string;
  createdAt: string;
  items: ReservationItem[];
}

interface SkuRow {
  sku: string;
  on_hand: number;
  reserved: number;
}

const toStock = (r: SkuRow): SkuStock => ({ sku: r.sku, onHand: r.on_hand, reserved: r.reserved, available: r.on_hand - r.reserved });

export async function upsertSku(db: Queryable, sku: string, onHand: number): Promise<SkuStock | undefined> {
  const { rows } = await db.query<SkuRow>({
    name: 'inventory.upsert_sku',
    text: `INSERT INTO skus (sku, on_hand) VALUES ($1, $2)
           ON CONFLICT (sku) DO UPDATE SET on_hand = EXCLUDED.on_hand, updated_at = now() WHERE skus.reserved <= EXCLUDED.on_hand
           RETURNING sku, on_hand, reserved`,
    values: [sku, onHand],
  });
  return rows[0] && toStock(rows[0]);
}

export type AdjustmentReason = 'received' | 'returned' | 'damaged' | 'lost' | 'stocktake' | 'correction';

export interface StockAdjustment {
  id: string;
  sku: string;
  delta: number;
  reason: AdjustmentReason;
  note: string;
  actor: string;
  tenant: string | null;
  onHandAfter: number;
  createdAt: string;
}

/** Adds `delta` to the units on hand unless that goes below the reserved units (or 0); undefined then, or for an unknown SKU. */
export async function addUnits(db: Queryable, sku: string, delta: number): Promise<SkuStock | undefined> {
  const { rows } = await db.query<SkuRow>({
    name: 'inventory.add_units',
    text: 'UPDATE skus SET on_hand = on_hand + $2, updated_at = now() WHERE sku = $1 AND on_hand + $2 >= reserved RETURNING sku, on_hand, reserved',
    values: [sku, delta],
  });
  return rows[0] && toStock(rows[0]);
}

interface AdjustmentRow {
  id: string;
  sku: string;
  delta: number;
  reason: AdjustmentReason;
  note: string;
  actor: string;
  tenant_id: string | null;
  on_hand_after: number;
  created_at: Date;
}

const toAdjustment = (r: AdjustmentRow): StockAdjustment => ({
  id: String(r.id),
  sku: r.sku,
  delta: r.delta,
  reason: r.reason,
  note: r.note,
  actor: r.actor,
  tenant: r.tenant_id,
  onHandAfter: r.on_hand_after,
  createdAt: r.created_at.toISOString(),
});

export async function insertAdjustment(db: Queryable, a: { sku: string; delta: number; reason: AdjustmentReason; note: string; actor: string; onHandAfter: number }): Promise<StockAdjustment> {
  const { rows } = await db.query<AdjustmentRow>({
    name: 'inventory.insert_adjustment',
    text: `INSERT INTO stock_adjustments (sku, delta, reason, note, actor, on_hand_after) VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id, sku, delta, reason, note, actor, tenant_id, on_hand_after, created_at`,
    values: [a.sku, a.delta, a.reason, a.note, a.actor, a.onHandAfter],
  });
  return toAdjustment(rows[0]!);
}

/** The SKU's adjustments, newest first. */
export async function listAdjustments(db: Queryable, sku: string, limit: number): Promise<StockAdjustment[]> {
  const { rows } = await db.query<AdjustmentRow>({
    name: 'inventory.list_adjustments',
    text: 'SELECT id, sku, delta, reason, note, actor, tenant_id, on_hand_after, created_at FROM stock_adjustments WHERE sku = $1 ORDER BY id DESC LIMIT $2',
    values: [sku, limit],
  });
  return rows.map(toAdjustment);
}

export async function findSku(db: Queryable, sku: string): Promise<SkuStock | undefined> {
  const { rows } = await db.query<SkuRow>({ name: 'inventory.find_sku', text: 'SELECT sku, on_hand, reserved FROM skus WHERE sku = $1', values: [sku] });
  return rows[0] && toStock(rows[0]);
}

export async function findSkus(db: Queryable, skus: readonly string[]): Promise<SkuStock[]> {
  const { rows } = await db.query<SkuRow>({ name: 'inventory.find_skus', text: 'SELECT sku, on_hand, reserved FROM skus WHERE sku = ANY($1::text[])', values: [skus] });
  return rows.map(toStock);
}

/**
 * Holds `quantity` units of one SKU if that many are available: one
 * conditional UPDATE. Under READ COMMITTED a concurrent holder of the row
 * makes this wait; PostgreSQL then re-evaluates the WHERE against the
 * committed row, so two holds can never both see the same free units.
 */
export async function holdUnits(db: Queryable, sku: string, quantity: number): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'inventory.hold_units',
    text: 'UPDATE skus SET reserved = reserved + $2, updated_at = now() WHERE sku = $1 AND on_hand - reserved >= $2',
    values: [sku, quantity],
  });
  return rowCount === 1;
}

/** Applies per-SKU deltas in sku order (the lock order). */
export async function adjustStock(db: Queryable, deltas: ReadonlyMap<string, { onHand: number; reserved: number }>): Promise<void> {
  for (const sku of [...deltas.keys()].sort()) {
    const d = deltas.get(sku)!;
    await db.query({
      name: 'inventory.adjust_stock',
      text: 'UPDATE skus SET on_hand = on_hand + $2, reserved = reserved + $3, updated_at = now() WHERE sku = $1',
      values: [sku, d.onHand, d.reserved],
    });
  }
}

export async function insertReservation(db: Queryable, r: { id: string; orderId: string; ttlSeconds: number; items: readonly ReservationItem[] }): Promise<Reservation> {
  const { rows } = await db.query<{ expires_at: Date; created_at: Date }>({
    name: 'inventory.insert_reservation',
    text: `WITH r AS (
             INSERT INTO reservations (id, order_id, status, expires_at) VALUES ($1, $2, 'held', now() + make_interval(secs => $3))
             RETURNING id, expires_at, created_at
           ), i AS (
             INSERT INTO reservation_items (reservation_id, sku, quantity) SELECT r.id, x.sku, x.quantity FROM r, unnest($4::text[], $5::int[]) AS x(sku, quantity)
           )
           SELECT expires_at, created_at FROM r`,
    values: [r.id, r.orderId, r.ttlSeconds, r.items.map((i) => i.sku), r.items.map((i) => i.quantity)],
  });
  const row = rows[0]!;
  return { id: r.id, orderId: r.orderId, status: 'held', releasedReason: null, expiresAt: row.expires_at.toISOString(), createdAt: row.created_at.toISOString(), items: [...r.items] };
}

interface ReservationRow {
  id: string;
  order_id: string;
  status: ReservationStatus;
  released_reason: 'requested' | 'expired' | null;
  expires_at: Date;
  created_at: Date;
  items: ReservationItem[];
  expired: boolean;
}

const SELECT_RESERVATION = `SELECT r.id, r.order_id, r.status, r.released_reason, r.expires_at, r.created_at, r.expires_at <= now() AS expired,
  COALESCE((SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity) ORDER BY i.sku) FROM reservation_items i WHERE i.reservation_id = r.id), '[]') AS items
  FROM reservations r`;

const toReservation = (r: ReservationRow): Reservation & { expired: boolean } => ({
  id: r.id,
  orderId: r.order_id,
  status: r.status,
  releasedReason: r.released_reason,
  expiresAt: r.expires_at.toISOString(),
  createdAt: r.created_at.toISOString(),
  items: r.items,
  expired: r.expired,
});

/** Reads a reservation; `forUpdate` locks its row (first in the lock order). */
export async function findReservation(db: Queryable, id: string, forUpdate = false): Promise<(Reservation & { expired: boolean }) | undefined> {
  const { rows } = await db.query<ReservationRow>({
    name: forUpdate ? 'inventory.lock_reservation' : 'inventory.find_reservation',
    text: `${SELECT_RESERVATION} WHERE r.id = $1${forUpdate ? ' FOR UPDATE OF r' : ''}`,
    values: [id],
  });
  return rows[0] && toReservation(rows[0]);
}

export async function listReservationsByOrder(db: Queryable, orderId: string): Promise<Reservation[]> {
  const { rows } = await db.query<ReservationRow>({ name: 'inventory.list_by_order', text: `${SELECT_RESERVATION} WHERE r.order_id = $1 ORDER BY r.created_at, r.id LIMIT 100`, values: [orderId] });
  return rows.map((r) => {
    const { expired: _expired, ...rest } = toReservation(r);
    return rest;
  });
}

export async function setReservationStatus(db: Queryable, id: string, status: ReservationStatus, releasedReason: 'requested' | 'expired' | null): Promise<void> {
  await db.query({
    name: 'inventory.set_status',
    text: 'UPDATE reservations SET status = $2, released_reason = $3, updated_at = now() WHERE id = $1',
    values: [id, status, releasedReason],
  });
}

/**
 * Claims up to `limit` expired held reservations for this transaction;
 * rows another sweeper (or a confirm/release) has locked are skipped, not
 * waited for, so any number of sweepers share the work without overlap.
 */
export async function claimExpired(db: Queryable, limit: number): Promise<{ id: string; orderId: string; tenantId: string | null; items: ReservationItem[] }[]> {
  const { rows } = await db.query<{ id: string; orderId: string; tenantId: string | null; items: ReservationItem[] }>({
    name: 'inventory.claim_expired',
    text: `WITH claimed AS (
             SELECT id, order_id, tenant_id FROM reservations WHERE status = 'held' AND expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
           )
           SELECT c.id, c.order_id AS "orderId", c.tenant_id AS "tenantId", COALESCE((SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity)) FROM reservation_items i WHERE i.reservation_id = c.id), '[]') AS items
           FROM claimed c`,
    values: [limit],
  });
  return rows;
}

export async function markReleased(db: Queryable, ids: readonly string[], reason: 'requested' | 'expired'): Promise<void> {
  await db.query({
    name: 'inventory.mark_released',
    text: "UPDATE reservations SET status = 'released', released_reason = $2, updated_at = now() WHERE id = ANY($1::uuid[])",
    values: [ids, reason],
  });
}
