/**
 * SQL of categories, products, variants and the search vocabulary; plain
 * objects out, parameterised statements only. Every statement runs in the
 * caller's tenant (row-level security fills and filters tenant_id). Product
 * writes keep three things in step inside the caller's transaction: the
 * weighted search document, the price summary, and the per-term product
 * counts that typo correction and autocomplete choose from.
 */
import type { Queryable } from '@bulwark/db';
import { termsOf } from '../domain/text.ts';

export interface Category {
  slug: string;
  name: string;
  parent: string | null;
  path: string;
}

export interface VariantInput {
  sku: string;
  attributes: Record<string, string>;
  price: { amount: number; currency: string };
}

export interface ProductInput {
  slug: string;
  name: string;
  brand: string;
  description: string;
  category: string;
  tags: string[];
  images: string[];
  popularity: number;
  variants: VariantInput[];
}

export interface Product extends ProductInput {
  id: string;
  categoryPath: string;
  /** The reviews' rating: how many, and their average to two decimals (null without reviews). */
  rating: { average: number | null; count: number };
  createdAt: string;
  updatedAt: string;
}

interface CategoryRow {
  slug: string;
  name: string;
  parent_slug: string | null;
  path: string;
}

const toCategory = (r: CategoryRow): Category => ({ slug: r.slug, name: r.name, parent: r.parent_slug, path: r.path });

export async function findCategory(db: Queryable, slug: string): Promise<Category | undefined> {
  const { rows } = await db.query<CategoryRow>({ name: 'catalog.find_category', text: 'SELECT slug, name, parent_slug, path FROM categories WHERE slug = $1', values: [slug] });
  return rows[0] && toCategory(rows[0]);
}

export async function listCategories(db: Queryable): Promise<Category[]> {
  const { rows } = await db.query<CategoryRow>({ name: 'catalog.list_categories', text: 'SELECT slug, name, parent_slug, path FROM categories ORDER BY path' });
  return rows.map(toCategory);
}

/** Inserts or renames/moves a category; a move rewrites the paths of its subtree. */
export async function upsertCategory(db: Queryable, category: Category, previousPath: string | undefined): Promise<void> {
  await db.query({
    name: 'catalog.upsert_category',
    text: `INSERT INTO categories (slug, name, parent_slug, path) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, slug) DO UPDATE SET name = EXCLUDED.name, parent_slug = EXCLUDED.parent_slug, path = EXCLUDED.path`,
    values: [category.slug, category.name, category.parent, category.path],
  });
  if (previousPath !== undefined && previousPath !== category.path) {
    await db.query({
      name: 'catalog.move_subtree',
      text: `UPDATE categories SET path = $2 || substr(path, length($1) + 1) WHERE path LIKE $1 || '/%'`,
      values: [previousPath, category.path],
    });
  }
}

/** Deletes a leaf category without products; false when it has either. */
export async function deleteCategory(db: Queryable, slug: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'catalog.delete_category',
    text: `DELETE FROM categories c WHERE c.slug = $1
             AND NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_slug = c.slug)
             AND NOT EXISTS (SELECT 1 FROM products p WHERE p.category_slug = c.slug)`,
    values: [slug],
  });
  return rowCount === 1;
}

export interface ProductRow {
  id: string;
  slug: string;
  name: string;
  brand: string;
  description: string;
  category_slug: string;
  category_path: string;
  tags: string[];
  images: string[];
  popularity: number;
  rating_count: number;
  rating_sum: string | number;
  created_at: Date;
  updated_at: Date;
  variants: { sku: string; attributes: Record<string, string>; price_minor: string | number; currency: string }[];
}

const PRODUCT_SELECT = `SELECT p.id, p.slug, p.name, p.brand, p.description, p.category_slug, c.path AS category_path, p.tags, p.images, p.popularity, p.rating_count, p.rating_sum, p.created_at, p.updated_at,
         COALESCE((SELECT json_agg(json_build_object('sku', v.sku, 'attributes', v.attributes, 'price_minor', v.price_minor, 'currency', v.currency) ORDER BY v.position)
                   FROM variants v WHERE v.tenant_id = p.tenant_id AND v.product_id = p.id), '[]') AS variants
    FROM products p JOIN categories c ON c.tenant_id = p.tenant_id AND c.slug = p.category_slug`;

/**
 * Product reads name the tenant for the planner (row-level security still
 * decides): the keys lead with tenant_id, and without it a lookup by id
 * walks the whole primary key (20 ids of 200,000 products: 170 ms, 0.1 ms with it).
 */
const IN_TENANT = `p.tenant_id = current_setting('bulwark.tenant', true)`;

export function toProduct(r: ProductRow): Product {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    brand: r.brand,
    description: r.description,
    category: r.category_slug,
    categoryPath: r.category_path,
    tags: r.tags,
    images: r.images,
    popularity: r.popularity,
    rating: { average: r.rating_count === 0 ? null : Math.round((Number(r.rating_sum) / r.rating_count) * 100) / 100, count: r.rating_count },
    variants: r.variants.map((v) => ({ sku: v.sku, attributes: v.attributes, price: { amount: Number(v.price_minor), currency: v.currency.trim() } })),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function findProduct(db: Queryable, id: string): Promise<Product | undefined> {
  const { rows } = await db.query<ProductRow>({ name: 'catalog.find_product', text: `${PRODUCT_SELECT} WHERE ${IN_TENANT} AND p.id = $1`, values: [id] });
  return rows[0] && toProduct(rows[0]);
}

/**
 * A product as one JSON object (`p` the product, `c` its category: PRODUCT_SELECT's columns), for statements that
 * return products beside other results (search's page); read back with productFromJson.
 */
export const PRODUCT_JSON = `json_build_object('id', p.id, 'slug', p.slug, 'name', p.name, 'brand', p.brand, 'description', p.description,
         'category_slug', p.category_slug, 'category_path', c.path, 'tags', p.tags, 'images', p.images, 'popularity', p.popularity,
         'rating_count', p.rating_count, 'rating_sum', p.rating_sum, 'created_at', p.created_at, 'updated_at', p.updated_at,
         'variants', COALESCE((SELECT json_agg(json_build_object('sku', v.sku, 'attributes', v.attributes, 'price_minor', v.price_minor, 'currency', v.currency) ORDER BY v.position)
                               FROM variants v WHERE v.tenant_id = p.tenant_id AND v.product_id = p.id), '[]'))`;

/** A PRODUCT_JSON object as a Product (timestamps arrive as text). */
export function productFromJson(r: Omit<ProductRow, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string }): Product {
  return toProduct({ ...r, created_at: new Date(r.created_at), updated_at: new Date(r.updated_at) });
}

const SEARCH_DOCUMENT = `setweight(to_tsvector('english', $3), 'A') || setweight(to_tsvector('simple', $4), 'B') || setweight(to_tsvector('english', array_to_string($7::text[], ' ')), 'B') || setweight(to_tsvector('english', $5), 'D')`;

/** Inserts the product row (variants and terms follow); false when the id already exists. */
export async function insertProduct(db: Queryable, id: string, p: ProductInput): Promise<void> {
  const prices = p.variants.map((v) => v.price.amount);
  await db.query({
    name: 'catalog.insert_product',
    text: `INSERT INTO products (id, slug, name, brand, description, category_slug, tags, images, popularity, price_min, price_max, search)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ${SEARCH_DOCUMENT})`,
    values: [id, p.slug, p.name, p.brand, p.description, p.category, p.tags, p.images, p.popularity, Math.min(...prices), Math.max(...prices)],
  });
  await insertVariants(db, id, p.variants);
  await adjustTerms(db, termsOf(p), 1);
}

/** Replaces every field and the variants of an existing product; false when there is none. */
export async function replaceProduct(db: Queryable, id: string, p: ProductInput): Promise<boolean> {
  const { rows } = await db.query<{ name: string; brand: string; tags: string[] }>({ name: 'catalog.lock_product', text: 'SELECT name, brand, tags FROM products WHERE id = $1 FOR UPDATE', values: [id] });
  const old = rows[0];
  if (!old) return false;
  const prices = p.variants.map((v) => v.price.amount);
  await db.query({
    name: 'catalog.update_product',
    text: `UPDATE products SET slug = $2, name = $3, brand = $4, description = $5, category_slug = $6, tags = $7, images = $8, popularity = $9,
                  price_min = $10, price_max = $11, search = ${SEARCH_DOCUMENT}, updated_at = now()
           WHERE id = $1`,
    values: [id, p.slug, p.name, p.brand, p.description, p.category, p.tags, p.images, p.popularity, Math.min(...prices), Math.max(...prices)],
  });
  await db.query({ name: 'catalog.delete_variants', text: 'DELETE FROM variants WHERE product_id = $1', values: [id] });
  await insertVariants(db, id, p.variants);
  await adjustTerms(db, termsOf(old), -1);
  await adjustTerms(db, termsOf(p), 1);
  return true;
}

export async function deleteProduct(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query<{ name: string; brand: string; tags: string[] }>({ name: 'catalog.delete_product', text: 'DELETE FROM products WHERE id = $1 RETURNING name, brand, tags', values: [id] });
  if (!rows[0]) return false;
  await adjustTerms(db, termsOf(rows[0]), -1);
  return true;
}

/** The first of `skus` a product other than `productId` has. */
export async function skuTakenByOther(db: Queryable, productId: string, skus: readonly string[]): Promise<string | undefined> {
  const { rows } = await db.query<{ sku: string }>({ name: 'catalog.sku_taken', text: 'SELECT sku FROM variants WHERE sku = ANY($1::text[]) AND product_id <> $2 ORDER BY sku LIMIT 1', values: [skus, productId] });
  return rows[0]?.sku;
}

async function insertVariants(db: Queryable, productId: string, variants: readonly VariantInput[]): Promise<void> {
  await db.query({
    name: 'catalog.insert_variants',
    text: `INSERT INTO variants (product_id, sku, attributes, price_minor, currency, position)
           SELECT $1, v.sku, v.attributes, v.price_minor, v.currency, v.position
             FROM unnest($2::text[], $3::jsonb[], $4::bigint[], $5::text[]) WITH ORDINALITY AS v(sku, attributes, price_minor, currency, position)`,
    values: [productId, variants.map((v) => v.sku), variants.map((v) => JSON.stringify(v.attributes)), variants.map((v) => v.price.amount), variants.map((v) => v.price.currency)],
  });
}

/** Adds `delta` to the product count of each term (sorted input: a stable lock order). */
async function adjustTerms(db: Queryable, terms: readonly string[], delta: 1 | -1): Promise<void> {
  if (terms.length === 0) return;
  await db.query({
    name: 'catalog.adjust_terms',
    text: `INSERT INTO search_terms (term, df) SELECT t, GREATEST($2::int, 0) FROM unnest($1::text[]) AS t
           ON CONFLICT (tenant_id, term) DO UPDATE SET df = GREATEST(search_terms.df + $2::int, 0)`,
    values: [terms, delta],
  });
}
