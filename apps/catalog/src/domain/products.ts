/**
 * Product and category use cases. Writes run in one transaction each (the
 * row, its variants, its search document and vocabulary counts), then drop
 * the cached product on every instance; reads of one product go through the
 * two-tier cache, keyed by tenant. Constraint violations become the
 * service's codes (slug or SKU taken, unknown category); product writes
 * also drop the tenant's cached search vocabulary. Every write also
 * puts its event (product-changed, category-changed) in the outbox, in its
 * transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Cache } from '@bulwark/cache';
import { currentDbContext, sqlStateOf, withTransaction, type DbPool } from '@bulwark/db';
import { catalogError } from '../errors.ts';
import { recordCatalogEvent } from '../events/catalog-events.ts';
import * as store from '../store/catalog-store.ts';
import { vocabularyKey } from './search.ts';
import type { Category, Product, ProductInput } from '../store/catalog-store.ts';

export interface CatalogDeps {
  pool: DbPool;
  products: Cache;
}

const productKey = (id: string): string => {
  const ctx = currentDbContext();
  return `product:${ctx?.kind === 'tenant' ? ctx.tenant : '-'}:${id}`;
};

/**
 * Maps the constraints a product write can break to the service's codes. Row-level
 * security hides the key in PostgreSQL's detail, so a taken SKU is looked up after the rollback.
 */
async function asCatalogError(deps: CatalogDeps, err: unknown, id: string, input: ProductInput): Promise<unknown> {
  const state = sqlStateOf(err);
  const constraint = (err as { constraint?: string }).constraint ?? '';
  if (state === '23505' && constraint.startsWith('variants')) {
    const sku = await store.skuTakenByOther(deps.pool, id, input.variants.map((v) => v.sku));
    return catalogError('CATALOG_SKU_TAKEN', 'a variant SKU is used by another product', { sku: sku ?? null });
  }
  if (state === '23505') return catalogError('CATALOG_SLUG_TAKEN', 'another product has this slug');
  if (state === '23503' && constraint.includes('category')) return catalogError('CATALOG_UNKNOWN_CATEGORY', `category ${input.category} does not exist`, { category: input.category });
  return err;
}

export async function createProduct(deps: CatalogDeps, input: ProductInput): Promise<Product> {
  const id = randomUUID();
  let product: Product;
  try {
    product = await withTransaction(deps.pool, async (tx) => {
      await store.insertProduct(tx, id, input);
      await recordCatalogEvent(tx, 'product-changed', id, { productId: id, change: 'created', slug: input.slug });
      return (await store.findProduct(tx, id))!;
    });
  } catch (err) {
    throw await asCatalogError(deps, err, id, input);
  }
  await deps.products.delete(vocabularyKey());
  return product;
}

export async function replaceProduct(deps: CatalogDeps, id: string, input: ProductInput): Promise<Product> {
  let product: Product | undefined;
  try {
    product = await withTransaction(deps.pool, async (tx) => {
      if (!(await store.replaceProduct(tx, id, input))) return undefined;
      await recordCatalogEvent(tx, 'product-changed', id, { productId: id, change: 'updated', slug: input.slug });
      return store.findProduct(tx, id);
    });
  } catch (err) {
    throw await asCatalogError(deps, err, id, input);
  }
  if (!product) throw catalogError('CATALOG_PRODUCT_NOT_FOUND', `product ${id} does not exist`, { id });
  await deps.products.delete(productKey(id), vocabularyKey());
  return product;
}

export async function deleteProduct(deps: CatalogDeps, id: string): Promise<void> {
  const deleted = await withTransaction(deps.pool, async (tx) => {
    if (!(await store.deleteProduct(tx, id))) return false;
    await recordCatalogEvent(tx, 'product-changed', id, { productId: id, change: 'deleted', slug: null });
    return true;
  });
  if (!deleted) throw catalogError('CATALOG_PRODUCT_NOT_FOUND', `product ${id} does not exist`, { id });
  await deps.products.delete(productKey(id), vocabularyKey());
}

/** Drops the cached product on every instance (its rating changed with a review). */
export async function forgetCachedProduct(products: Cache, id: string): Promise<void> {
  await products.delete(productKey(id));
}

/** One product, from the cache (either tier) or the database. */
export async function getProduct(deps: CatalogDeps, id: string): Promise<Product> {
  return deps.products.get(productKey(id), async () => {
    const product = await store.findProduct(deps.pool, id);
    if (!product) throw catalogError('CATALOG_PRODUCT_NOT_FOUND', `product ${id} does not exist`, { id });
    return product;
  });
}

export async function putCategory(deps: CatalogDeps, input: { slug: string; name: string; parent: string | null }): Promise<{ category: Category; created: boolean }> {
  return withTransaction(deps.pool, async (tx) => {
    const existing = await store.findCategory(tx, input.slug);
    let path = input.slug;
    if (input.parent !== null) {
      const parent = await store.findCategory(tx, input.parent);
      if (!parent) throw catalogError('CATALOG_UNKNOWN_CATEGORY', `parent category ${input.parent} does not exist`, { category: input.parent });
      if (parent.slug === input.slug || parent.path.split('/').includes(input.slug)) {
        throw catalogError('CATALOG_CATEGORY_CYCLE', `${input.parent} is ${input.slug} or below it`, { category: input.parent });
      }
      path = `${parent.path}/${input.slug}`;
    }
    const category = { slug: input.slug, name: input.name, parent: input.parent, path };
    await store.upsertCategory(tx, category, existing?.path);
    await recordCatalogEvent(tx, 'category-changed', `category:${input.slug}`, { slug: input.slug, change: existing === undefined ? 'created' : 'updated' });
    return { category, created: existing === undefined };
  });
}

export interface CategoryNode extends Category {
  children: CategoryNode[];
}

/** The tenant's categories as a forest, children in path order. */
export async function categoryTree(deps: CatalogDeps): Promise<CategoryNode[]> {
  const nodes = new Map<string, CategoryNode>();
  const roots: CategoryNode[] = [];
  for (const c of await store.listCategories(deps.pool)) {
    const node = { ...c, children: [] };
    nodes.set(c.slug, node);
    const parent = c.parent === null ? undefined : nodes.get(c.parent);
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

export async function deleteCategory(deps: CatalogDeps, slug: string): Promise<void> {
  await withTransaction(deps.pool, async (tx) => {
    if (!(await store.findCategory(tx, slug))) throw catalogError('CATALOG_CATEGORY_NOT_FOUND', `category ${slug} does not exist`, { category: slug });
    if (!(await store.deleteCategory(tx, slug))) throw catalogError('CATALOG_CATEGORY_IN_USE', `category ${slug} has subcategories or products`, { category: slug });
    await recordCatalogEvent(tx, 'category-changed', `category:${slug}`, { slug, change: 'deleted' });
  });
}
