/**
 * Use cases of stock and reservations. Each runs on the transaction it is
 * given (the idempotency middleware's, so the business write and the stored
 * response commit together) under READ COMMITTED.
 *
 * No overselling: a hold is one conditional UPDATE per SKU
 * (`reserved + q` only where `on_hand - reserved >= q`), SKUs in sorted
 * order; the first SKU that cannot be held aborts the whole reservation.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '@bulwark/db';
import { inventoryError } from '../errors.ts';
import { recordEvents } from './inventory-events.ts';
import {
  adjustStock,
  findReservation,
  findSku,
  findSkus,
  holdUnits,
  insertReservation,
  setReservationStatus,
  upsertSku,
  type Reservation,
  type ReservationItem,
  type SkuStock,
} from '../store/stock-store.ts';

export async function setStock(db: Queryable, sku: string, onHand: number): Promise<SkuStock> {
  const stock = await upsertSku(db, sku, onHand);
  if (stock) return stock;
  const current = await findSku(db, sku);
  throw inventoryError('INVENTORY_STOCK_BELOW_RESERVED', `onHand ${onHand} is below the ${current?.reserved ?? 0} units reserved for ${sku}`, { sku, reserved: current?.reserved ?? 0 });
}

export async function getStock(db: Queryable, sku: string): Promise<SkuStock> {
  const stock = await findSku(db, sku);
  if (!stock) throw inventoryError('INVENTORY_SKU_NOT_FOUND', `SKU ${sku} does not exist`, { sku });
  return stock;
}

/**
 * All or nothing: holds every item or throws (the caller's transaction then
 * rolls back the holds already made). Unknown SKUs → 422, short SKUs → 409
 * listing every SKU that is short at the time of the check.
 */
export async function reserveStock(tx: Queryable, input: { orderId: string; items: readonly ReservationItem[]; ttlSeconds: number }): Promise<Reservation> {
  const items = [...input.items].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  for (const item of items) {
    if (await holdUnits(tx, item.sku, item.quantity)) continue;
    const known = new Map((await findSkus(tx, items.map((i) => i.sku))).map((s) => [s.sku, s]));
    const unknown = items.filter((i) => !known.has(i.sku)).map((i) => i.sku);
    if (unknown.length > 0) throw inventoryError('INVENTORY_UNKNOWN_SKU', `unknown SKU${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { skus: unknown });
    // Units this transaction already held count as available for the report.
    const heldHere = new Set(items.slice(0, items.indexOf(item)).map((i) => i.sku));
    const short = items
      .map((i) => {
        const s = known.get(i.sku)!;
        return { sku: i.sku, requested: i.quantity, available: heldHere.has(i.sku) ? s.available + i.quantity : s.available };
      })
      .filter((s) => s.available < s.requested || s.sku === item.sku);
    throw inventoryError('INVENTORY_INSUFFICIENT_STOCK', `not enough stock for ${short.map((s) => s.sku).join(', ')}`, { skus: short });
  }
  const reservation = await insertReservation(tx, { id: randomUUID(), orderId: input.orderId, ttlSeconds: input.ttlSeconds, items });
  await recordEvents(tx, 'reserved', [{ reservationId: reservation.id, orderId: reservation.orderId, items, reason: null, restocked: false }]);
  return reservation;
}

async function lockReservation(tx: Queryable, id: string): Promise<Reservation & { expired: boolean }> {
  const reservation = await findReservation(tx, id, true);
  if (!reservation) throw inventoryError('INVENTORY_RESERVATION_NOT_FOUND', `reservation ${id} does not exist`, { reservationId: id });
  return reservation;
}

function deltas(items: readonly ReservationItem[], onHand: number, reserved: number): Map<string, { onHand: number; reserved: number }> {
  return new Map(items.map((i) => [i.sku, { onHand: onHand * i.quantity, reserved: reserved * i.quantity }]));
}

/**
 * held → confirmed: the units leave on_hand and reserved (sold). Confirming
 * a confirmed reservation is a no-op; a released one, or a held one past its
 * expiry (released here and now), is 409.
 */
export async function confirmReservation(tx: Queryable, id: string): Promise<Reservation> {
  const r = await lockReservation(tx, id);
  if (r.status === 'confirmed') return r;
  if (r.status === 'held' && r.expired) {
    await adjustStock(tx, deltas(r.items, 0, -1));
    await setReservationStatus(tx, id, 'released', 'expired');
    await recordEvents(tx, 'released', [{ reservationId: id, orderId: r.orderId, items: r.items, reason: 'expired', restocked: false }]);
    // The confirm route keeps writes on failure, so this release commits with the stored 409.
    throw inventoryError('INVENTORY_RESERVATION_NOT_HELD', `reservation ${id} expired at ${r.expiresAt}`, { reservationId: id, status: 'released', releasedReason: 'expired' });
  }
  if (r.status === 'released') throw inventoryError('INVENTORY_RESERVATION_NOT_HELD', `reservation ${id} is released`, { reservationId: id, status: r.status, releasedReason: r.releasedReason });
  await adjustStock(tx, deltas(r.items, -1, -1));
  await setReservationStatus(tx, id, 'confirmed', null);
  await recordEvents(tx, 'confirmed', [{ reservationId: id, orderId: r.orderId, items: r.items, reason: null, restocked: false }]);
  return { ...r, status: 'confirmed' };
}

/**
 * held → released gives the units back to available; confirmed → released
 * puts them back on hand (refund compensation). Releasing a released
 * reservation is a no-op.
 */
export async function releaseReservation(tx: Queryable, id: string): Promise<Reservation> {
  const r = await lockReservation(tx, id);
  if (r.status === 'released') return r;
  await adjustStock(tx, r.status === 'held' ? deltas(r.items, 0, -1) : deltas(r.items, 1, 0));
  await setReservationStatus(tx, id, 'released', 'requested');
  await recordEvents(tx, 'released', [{ reservationId: id, orderId: r.orderId, items: r.items, reason: 'requested', restocked: r.status === 'confirmed' }]);
  return { ...r, status: 'released', releasedReason: 'requested' };
}

export async function getReservation(db: Queryable, id: string): Promise<Reservation> {
  const r = await findReservation(db, id);
  if (!r) throw inventoryError('INVENTORY_RESERVATION_NOT_FOUND', `reservation ${id} does not exist`, { reservationId: id });
  const { expired: _expired, ...rest } = r;
  return rest;
}
