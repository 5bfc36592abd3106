/**
 * The catalog subgraph's batch statements: one query per relation and
 * request, whatever the number of keys (the DataLoaders call these). Rows
 * are the caller's tenant's by row-level security.
 */
import type { Queryable } from '@bulwark/db';

export interface VariantNode {
  sku: string;
  productId: string;
  price: { amount: number; currency: string };
}

export interface ProductNode {
  id: string;
  slug: string;
  name: string;
  brand: string;
  category: string;
  ratingCount: number;
  ratingAverage: number | null;
}

export interface ReviewNode {
  productId: string;
  authorSub: string;
  rating: number;
  title: string;
  body: string;
  createdAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function variantsBySkus(db: Queryable, skus: readonly string[]): Promise<Map<string, VariantNode>> {
  if (skus.length === 0) return new Map();
  const { rows } = await db.query<{ sku: string; product_id: string; price_minor: string | number; currency: string }>({
    name: 'catalog.graphql.variants_by_skus',
    text: 'SELECT sku, product_id, price_minor, currency FROM variants WHERE sku = ANY($1::text[])',
    values: [skus],
  });
  return new Map(rows.map((r) => [r.sku, { sku: r.sku, productId: r.product_id, price: { amount: Number(r.price_minor), currency: r.currency.trim() } }]));
}

export async function variantsOfProducts(db: Queryable, productIds: readonly string[]): Promise<Map<string, VariantNode[]>> {
  const ids = productIds.filter((id) => UUID.test(id));
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ sku: string; product_id: string; price_minor: string | number; currency: string }>({
    name: 'catalog.graphql.variants_of_products',
    text: 'SELECT sku, product_id, price_minor, currency FROM variants WHERE product_id = ANY($1::uuid[]) ORDER BY product_id, position',
    values: [ids],
  });
  const out = new Map<string, VariantNode[]>();
  for (const r of rows) {
    const list = out.get(r.product_id) ?? [];
    list.push({ sku: r.sku, productId: r.product_id, price: { amount: Number(r.price_minor), currency: r.currency.trim() } });
    out.set(r.product_id, list);
  }
  return out;
}

export async function productsByIds(db: Queryable, productIds: readonly string[]): Promise<Map<string, ProductNode>> {
  const ids = productIds.filter((id) => UUID.test(id));
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; slug: string; name: string; brand: string; category_slug: string; rating_count: number; rating_sum: string | number }>({
    name: 'catalog.graphql.products_by_ids',
    text: 'SELECT id, slug, name, brand, category_slug, rating_count, rating_sum FROM products WHERE id = ANY($1::uuid[])',
    values: [ids],
  });
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        slug: r.slug,
        name: r.name,
        brand: r.brand,
        category: r.category_slug,
        ratingCount: r.rating_count,
        ratingAverage: r.rating_count === 0 ? null : Math.round((Number(r.rating_sum) / r.rating_count) * 100) / 100,
      },
    ]),
  );
}

/** The newest `perProduct` reviews of each product, in one statement (a window per product). */
export async function reviewsOfProducts(db: Queryable, productIds: readonly string[], perProduct: number): Promise<Map<string, ReviewNode[]>> {
  const ids = productIds.filter((id) => UUID.test(id));
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ product_id: string; author_sub: string; rating: number; title: string; body: string; created_at: Date }>({
    name: 'catalog.graphql.reviews_of_products',
    text: `SELECT product_id, author_sub, rating, title, body, created_at FROM (
             SELECT r.*, row_number() OVER (PARTITION BY r.product_id ORDER BY r.created_at DESC, r.author_sub) AS n
               FROM reviews r WHERE r.product_id = ANY($1::uuid[])) ranked
            WHERE n <= $2 ORDER BY product_id, n`,
    values: [ids, perProduct],
  });
  const out = new Map<string, ReviewNode[]>();
  for (const r of rows) {
    const list = out.get(r.product_id) ?? [];
    list.push({ productId: r.product_id, authorSub: r.author_sub, rating: r.rating, title: r.title, body: r.body, createdAt: r.created_at.toISOString() });
    out.set(r.product_id, list);
  }
  return out;
}
