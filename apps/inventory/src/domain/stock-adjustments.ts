/**
 * A person's change of a SKU's units on hand (goods received, damaged, a
 * stocktake…) with its reason: the units and the log entry commit in one
 * transaction. Never below the reserved units (409) or for an unknown SKU
 * (404). Holds move stock through reservations, not through here. Each
 * adjustment puts a stock-changed event in the outbox in its transaction
 * (catalog turns a restocked product's "in stock" back on from it).
 */
import { withTransaction, type DbPool, type Queryable } from '@bulwark/db';
import { inventoryError } from '../errors.ts';
import { recordStockChanged } from './inventory-events.ts';
import { addUnits, findSku, insertAdjustment, listAdjustments, type AdjustmentReason, type SkuStock, type StockAdjustment } from '../store/stock-store.ts';

export interface AdjustmentInput {
  sku: string;
  delta: number;
  reason: AdjustmentReason;
  note: string;
  /** The verified subject making it. */
  actor: string;
}

/** Runs in the caller's transaction (the Idempotency-Key's), so a retried request adjusts once. */
export async function recordStockAdjustment(tx: Queryable, input: AdjustmentInput): Promise<{ adjustment: StockAdjustment; stock: SkuStock }> {
  const stock = await addUnits(tx, input.sku, input.delta);
  if (!stock) {
    const current = await findSku(tx, input.sku);
    if (!current) throw inventoryError('INVENTORY_SKU_NOT_FOUND', `SKU ${input.sku} does not exist`, { sku: input.sku });
    throw inventoryError('INVENTORY_STOCK_BELOW_RESERVED', `${input.delta} would take ${input.sku} below the ${current.reserved} units reserved`, { sku: input.sku, reserved: current.reserved, onHand: current.onHand, delta: input.delta });
  }
  const adjustment = await insertAdjustment(tx, { ...input, onHandAfter: stock.onHand });
  await recordStockChanged(tx, { sku: input.sku, delta: input.delta, reason: input.reason, adjustmentId: adjustment.id, onHand: stock.onHand, reserved: stock.reserved, available: stock.available });
  return { adjustment, stock };
}

export async function stockAdjustments(pool: DbPool, sku: string, limit: number): Promise<StockAdjustment[]> {
  return withTransaction(pool, async (tx) => {
    if (!(await findSku(tx, sku))) throw inventoryError('INVENTORY_SKU_NOT_FOUND', `SKU ${sku} does not exist`, { sku });
    return listAdjustments(tx, sku, limit);
  });
}
