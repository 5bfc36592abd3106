/**
 * orders' subgraph: a customer's orders with their items (stored with the
 * order: no query per item), each item pointing at catalog's Variant by SKU
 * and each order at identity's Account. Ownership is the REST routes': with
 * a principal (x-auth-sub) a customer sees only its own orders, an admin any.
 */
import type { Request } from 'express';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import type { DbPool } from '@bulwark/db';
import { batchLoader, registerSubgraph, SUBGRAPH_QUERY_LIMITS, type DataLoader, type QueryLimits } from '@bulwark/graphql-kit';
import type { RouteRegistrar } from '@bulwark/service-kit';
import type { OrderItem } from '../domain/events.ts';
import { ADMIN_ROLE, principalOf, type Principal } from '../http/ownership.ts';
import { listCustomerOrders, type OrderSummary } from '../store/read-models.ts';
import { orderSummariesByIds } from './orders-batch.ts';

export const ORDERS_TYPE_DEFS = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    "A customer's orders, newest first: the caller's own (customerId is for admins and service calls)."
    orders(customerId: ID, first: Int = 20): [Order!]!
    "One order (null when absent or not the caller's)."
    order(id: ID!): Order
  }

  type Order @key(fields: "id") {
    id: ID!
    status: String!
    totalCents: Int!
    createdAt: String!
    updatedAt: String!
    "Version of the order this read reflects (the read model is eventually consistent)."
    version: Int!
    customer: Account!
    items: [OrderItem!]!
  }

  type OrderItem {
    sku: String!
    quantity: Int!
    unitPriceCents: Int!
    "The catalog variant (price today, product, reviews)."
    variant: Variant!
  }

  type Variant @key(fields: "sku", resolvable: false) {
    sku: String!
  }

  type Account @key(fields: "id", resolvable: false) {
    id: ID!
  }
`);

const MAX_FIRST = 100;

interface OrdersGraphContext {
  principal: Principal | undefined;
  orders: DataLoader<string, OrderSummary | undefined>;
  pool: DbPool;
}

const seesAll = (p: Principal | undefined) => p === undefined || p.roles.includes(ADMIN_ROLE);
const visible = (ctx: OrdersGraphContext, order: OrderSummary | undefined) => (order && (seesAll(ctx.principal) || order.customerId === ctx.principal!.sub) ? order : null);

export function createOrdersSchema() {
  return buildSubgraphSchema([{
    typeDefs: ORDERS_TYPE_DEFS,
    resolvers: {
      Query: {
        async orders(_: unknown, args: { customerId?: string | null; first: number }, ctx: OrdersGraphContext) {
          if (args.first < 1 || args.first > MAX_FIRST) throw new GraphQLError(`first must be between 1 and ${MAX_FIRST}`, { extensions: { code: 'BAD_USER_INPUT' } });
          const customerId = args.customerId ?? ctx.principal?.sub;
          if (!customerId) throw new GraphQLError('customerId is required without a signed-in caller', { extensions: { code: 'BAD_USER_INPUT' } });
          if (!seesAll(ctx.principal) && customerId !== ctx.principal!.sub) throw new GraphQLError(`the caller is ${ctx.principal!.sub}, not customer ${customerId}`, { extensions: { code: 'FORBIDDEN' } });
          const { orders } = await listCustomerOrders(ctx.pool, customerId, args.first);
          for (const o of orders) ctx.orders.prime(o.orderId, o);
          return orders;
        },
        order: async (_: unknown, args: { id: string }, ctx: OrdersGraphContext) => visible(ctx, await ctx.orders.load(args.id)),
      },
      Order: {
        __resolveReference: async (ref: { id: string }, ctx: OrdersGraphContext) => visible(ctx, await ctx.orders.load(ref.id)),
        id: (o: OrderSummary) => o.orderId,
        customer: (o: OrderSummary) => ({ id: o.customerId }),
      },
      OrderItem: {
        variant: (item: OrderItem) => ({ sku: item.sku }),
      },
    },
  }]);
}

export function registerOrdersSubgraph(r: RouteRegistrar, pool: DbPool, limits: QueryLimits = SUBGRAPH_QUERY_LIMITS): void {
  registerSubgraph(r, {
    schema: createOrdersSchema(),
    limits,
    context: (req: Request): OrdersGraphContext => ({ principal: principalOf(req), pool, orders: batchLoader((ids: readonly string[]) => orderSummariesByIds(pool, ids)) }),
  });
}
