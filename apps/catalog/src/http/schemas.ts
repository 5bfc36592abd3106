/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';

const Slug = z.string().min(1).max(80).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/).describe('Lower-case words joined by hyphens.');
const Sku = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/).describe('Stock-keeping unit id (the one inventory holds stock under).');
const Currency = z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217 code.');
const Text = (max: number) => z.string().trim().min(1).max(max);

export const SlugParams = z.object({ slug: Slug });
export const ProductIdParams = z.object({ id: z.uuid() });

export const CategoryBody = z.object({ name: Text(120), parent: Slug.nullable().default(null).describe('Parent category slug; null or absent: a root.') });
export const CategoryResponse = z.object({ slug: z.string(), name: z.string(), parent: z.string().nullable(), path: z.string().describe('Slugs from the root, joined by /.') });
type CategoryNodeShape = z.infer<typeof CategoryResponse> & { children: CategoryNodeShape[] };
const CategoryNode: z.ZodType<CategoryNodeShape> = CategoryResponse.extend({ children: z.array(z.lazy(() => CategoryNode)) });
export const CategoryTreeResponse = z.object({ categories: z.array(CategoryNode) });

const Variant = z.object({
  sku: Sku,
  attributes: z.record(z.string().min(1).max(40), z.string().max(80)).refine((a) => Object.keys(a).length <= 10, { message: 'at most 10 attributes' }).default({}).describe('e.g. { "size": "M", "colour": "blue" }.'),
  price: z.object({ amount: z.number().int().min(0).max(1e12).describe('Minor units (cents).'), currency: Currency }),
});

export const ProductBody = z.object({
  slug: Slug,
  name: Text(200),
  brand: Text(80),
  description: z.string().max(5_000).default(''),
  category: Slug,
  tags: z.array(Text(40)).max(20).default([]),
  images: z.array(z.url({ protocol: /^https?$/ }).max(2_000)).max(20).default([]),
  popularity: z.number().int().min(0).max(1_000_000_000).default(0).describe('Ranking signal (sales, views); higher ranks first among equals.'),
  variants: z
    .array(Variant)
    .min(1)
    .max(100)
    .refine((vs) => new Set(vs.map((v) => v.sku)).size === vs.length, { message: 'each sku may appear once' }),
});

export const ProductResponse = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  brand: z.string(),
  description: z.string(),
  category: z.string(),
  categoryPath: z.string(),
  tags: z.array(z.string()),
  images: z.array(z.string()),
  popularity: z.number().int(),
  rating: z.object({ average: z.number().nullable().describe('Average of the reviews\' ratings, two decimals; null without reviews.'), count: z.number().int() }),
  variants: z.array(z.object({ sku: z.string(), attributes: z.record(z.string(), z.string()), price: z.object({ amount: z.number().int(), currency: z.string() }) })),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const Count = z.object({ value: z.string(), count: z.number().int() });

export const SearchQuery = z.object({
  q: z.string().max(200).optional().describe('Words to find; typos are corrected against the catalog vocabulary.'),
  category: Slug.optional().describe('Only this category and its subtree.'),
  brand: z.string().min(1).max(80).optional(),
  minPrice: z.coerce.number().int().min(0).optional().describe('Some variant costs at least this (minor units).'),
  maxPrice: z.coerce.number().int().min(0).optional().describe('Some variant costs at most this (minor units).'),
  currency: Currency.optional(),
  minRating: z.coerce.number().min(1).max(5).optional().describe('Only reviewed products whose average rating is at least this (1–5).'),
  inStock: z.enum(['true', 'false']).transform((v) => v === 'true').optional().describe("true: only products inventory last reported available (learned from inventory's events); false or absent: every product."),
  sort: z.enum(['relevance', 'popularity', 'price_asc', 'price_desc', 'newest']).optional().describe('Default relevance with q, popularity without.'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(10_000).default(0),
});

export const SearchResponse = z.object({
  query: z.string(),
  correctedQuery: z.string().optional().describe('The query after typo correction, when it changed a word.'),
  didYouMean: z.string().optional().describe('On no hits: a product name close to the query.'),
  total: z.number().int(),
  approximate: z
    .object({ candidates: z.number().int() })
    .optional()
    .describe('A broad query (thousands of matches, no filters, relevance or popularity order): total is an estimate, and the page and facets come from the `candidates` most popular products matching by name, brand or tags.'),
  items: z.array(ProductResponse),
  facets: z.object({ categories: z.array(Count), brands: z.array(Count), price: z.object({ min: z.number().int().nullable(), max: z.number().int().nullable() }) }),
});

export const SuggestQuery = z.object({ q: z.string().min(1).max(100), limit: z.coerce.number().int().min(1).max(20).default(8) });
export const SuggestResponse = z.object({
  query: z.string(),
  completions: z.array(z.string()).describe('Catalog words completing the last word typed (typo-tolerant).'),
  products: z.array(z.object({ id: z.uuid(), name: z.string(), brand: z.string() })),
});

export const DemoCatalogResponse = z.object({
  tenant: z.string(),
  products: z.number().int().describe('Products of the demo catalog (CATALOG_SEED_COUNT).'),
  started: z.boolean().describe('false: a load for this tenant is already running on this instance.'),
});
