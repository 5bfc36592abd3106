/**
 * Stock as catalog shows it: `variants.available` is what inventory last said
 * a SKU has available, `products.in_stock` whether any variant has some (or
 * was never heard of). Inventory's stock is shared catalogue data (one level
 * per SKU for every tenant), so these writes run in the system context and
 * reach every tenant's variants of a SKU.
 */
import type { Queryable } from '@bulwark/db';

/**
 * Stores the available units of each SKU and recomputes in_stock of the
 * products holding them; writes only what changed, so a redelivered event
 * changes nothing. Returns the number of products whose in_stock flipped.
 */
export async function recordAvailability(db: Queryable, available: ReadonlyMap<string, number>): Promise<number> {
  if (available.size === 0) return 0;
  const skus = [...available.keys()];
  await db.query({
    name: 'catalog.record_available',
    text: `UPDATE variants v SET available = s.available FROM unnest($1::text[], $2::int[]) AS s(sku, available)
            WHERE v.sku = s.sku AND v.available IS DISTINCT FROM s.available`,
    values: [skus, skus.map((s) => available.get(s)!)],
  });
  const { rowCount } = await db.query({
    name: 'catalog.record_in_stock',
    text: `UPDATE products p SET in_stock = x.in_stock
             FROM (SELECT v.tenant_id, v.product_id, bool_or(v.available IS NULL OR v.available > 0) AS in_stock
                     FROM variants v
                    WHERE (v.tenant_id, v.product_id) IN (SELECT w.tenant_id, w.product_id FROM variants w WHERE w.sku = ANY($1::text[]))
                    GROUP BY 1, 2) x
            WHERE p.tenant_id = x.tenant_id AND p.id = x.product_id AND p.in_stock IS DISTINCT FROM x.in_stock`,
    values: [skus],
  });
  return rowCount ?? 0;
}
