/**
 * catalog's subgraph: Variant (by SKU, what an order item points at),
 * Product and its reviews. Every relation goes through a per-request
 * DataLoader, so orders → items → variants → products → reviews is one
 * statement per level whatever the list sizes. `batching: false` swaps in
 * loaders that run one statement per key (the benchmark's baseline).
 */
import type { Request } from 'express';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import type { DbPool } from '@bulwark/db';
import { batchLoader, registerSubgraph, SUBGRAPH_QUERY_LIMITS, unbatchedLoader, type CacheHints, type DataLoader, type QueryLimits } from '@bulwark/graphql-kit';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { productsByIds, reviewsOfProducts, variantsBySkus, variantsOfProducts, type ProductNode, type ReviewNode, type VariantNode } from './catalog-batch.ts';

export const CATALOG_TYPE_DEFS = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

  type Query {
    product(id: ID!): Product
    products(ids: [ID!]!): [Product]!
  }

  type Money @shareable {
    "Minor units (cents)."
    amount: Int!
    currency: String!
  }

  "A purchasable variant of a product, by SKU (order items point here)."
  type Variant @key(fields: "sku") {
    sku: String!
    "Today's price (an order item keeps the price it was bought at)."
    price: Money!
    product: Product!
  }

  type Product @key(fields: "id") {
    id: ID!
    slug: String!
    name: String!
    brand: String!
    category: String!
    ratingCount: Int!
    ratingAverage: Float
    variants: [Variant!]!
    "Newest first."
    reviews(first: Int = 5): [Review!]!
  }

  type Review {
    rating: Int!
    title: String!
    body: String!
    createdAt: String!
    author: Account!
  }

  type Account @key(fields: "id", resolvable: false) {
    id: ID!
  }
`);

const MAX_REVIEWS = 50;
const MAX_IDS = 100;

type Loader<K, V> = DataLoader<K, V | undefined>;

interface CatalogGraphContext {
  variants: Loader<string, VariantNode>;
  products: Loader<string, ProductNode>;
  variantsOf: Loader<string, VariantNode[]>;
  /** One loader per page size (the batch statement takes one limit). */
  reviewsOf(first: number): Loader<string, ReviewNode[]>;
}

export interface CatalogSubgraphOptions {
  /** false: one statement per key (benchmark baseline). Default true. */
  batching?: boolean;
  limits?: QueryLimits;
  /** Seconds a product (and its variants and prices) may be served from a cache; reviews get half. Default 30, like GET /v1/products/:id. */
  productMaxAgeSeconds?: number;
}

/**
 * What the catalog's fields may be cached for (PUBLIC here means "the same
 * for every user of the tenant": the federation gateway keys its response
 * cache by tenant, and tells clients `private`).
 */
export function catalogCacheHints(productMaxAgeSeconds = 30): CacheHints {
  const product = { maxAge: productMaxAgeSeconds };
  const reviews = { maxAge: Math.floor(productMaxAgeSeconds / 2) };
  return {
    'Query.product': product,
    'Query.products': product,
    Product: product,
    Variant: product,
    Money: product,
    'Product.reviews': reviews,
    Review: reviews,
    'Review.author': reviews,
  };
}

function createContext(pool: DbPool, batching: boolean): CatalogGraphContext {
  const loader = batching ? batchLoader : unbatchedLoader;
  const reviewLoaders = new Map<number, Loader<string, ReviewNode[]>>();
  return {
    variants: loader((skus: readonly string[]) => variantsBySkus(pool, skus)),
    products: loader((ids: readonly string[]) => productsByIds(pool, ids)),
    variantsOf: loader((ids: readonly string[]) => variantsOfProducts(pool, ids)),
    reviewsOf(first) {
      let l = reviewLoaders.get(first);
      if (!l) reviewLoaders.set(first, (l = loader((ids: readonly string[]) => reviewsOfProducts(pool, ids, first))));
      return l;
    },
  };
}

export function createCatalogSchema() {
  return buildSubgraphSchema([{
    typeDefs: CATALOG_TYPE_DEFS,
    resolvers: {
      Query: {
        product: (_: unknown, args: { id: string }, ctx: CatalogGraphContext) => ctx.products.load(args.id),
        products(_: unknown, args: { ids: string[] }, ctx: CatalogGraphContext) {
          if (args.ids.length > MAX_IDS) throw new GraphQLError(`at most ${MAX_IDS} ids`, { extensions: { code: 'BAD_USER_INPUT' } });
          return ctx.products.loadMany(args.ids).then((all) => all.map((p) => (p instanceof Error ? null : (p ?? null))));
        },
      },
      Variant: {
        __resolveReference: (ref: { sku: string }, ctx: CatalogGraphContext) => ctx.variants.load(ref.sku),
        product: async (v: VariantNode, _: unknown, ctx: CatalogGraphContext) => ctx.products.load(v.productId),
      },
      Product: {
        __resolveReference: (ref: { id: string }, ctx: CatalogGraphContext) => ctx.products.load(ref.id),
        variants: async (p: ProductNode, _: unknown, ctx: CatalogGraphContext) => (await ctx.variantsOf.load(p.id)) ?? [],
        async reviews(p: ProductNode, args: { first: number }, ctx: CatalogGraphContext) {
          if (args.first < 0 || args.first > MAX_REVIEWS) throw new GraphQLError(`first must be between 0 and ${MAX_REVIEWS}`, { extensions: { code: 'BAD_USER_INPUT' } });
          if (args.first === 0) return [];
          return (await ctx.reviewsOf(args.first).load(p.id)) ?? [];
        },
      },
      Review: {
        author: (r: ReviewNode) => ({ id: r.authorSub }),
      },
    },
  }]);
}

export function registerCatalogSubgraph(r: RouteRegistrar, pool: DbPool, options: CatalogSubgraphOptions = {}): void {
  const batching = options.batching ?? true;
  registerSubgraph(r, {
    schema: createCatalogSchema(),
    limits: options.limits ?? SUBGRAPH_QUERY_LIMITS,
    context: (_req: Request) => createContext(pool, batching),
    cacheHints: catalogCacheHints(options.productMaxAgeSeconds),
  });
}
