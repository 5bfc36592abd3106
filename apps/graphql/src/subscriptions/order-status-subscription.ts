/**
 * `Subscription.orderStatusChanged(orderId, afterVersion)`: the schema part
 * Apollo Gateway does not run, executed by graphql-ws (ws-server.ts).
 *
 * Who may listen: the orders subgraph is asked for the order with the
 * subscriber's x-auth-* headers, so the rules of queries apply (a customer
 * its own orders, the tenant by row-level security); null → NOT_FOUND, as
 * for a query. Events are also held to the subscriber's tenant.
 *
 * Missed changes: `afterVersion` is the cursor (the `version` of the last
 * change received). When the order's version in the read model is past it,
 * the current status is sent first (the latest state, not every change in
 * between), then every change from Kafka with a higher version. The listener
 * is registered before the read, so nothing falls between the two; an event
 * this instance read that the projector has not applied yet counts too.
 */
import { buildSchema, GraphQLError, type GraphQLSchema } from 'graphql';
import type { OrderStatusChange, OrderStatusFeed } from './order-status-feed.ts';

export const SUBSCRIPTION_TYPE_DEFS = /* GraphQL */ `
  "One status change of an order."
  type OrderStatusChange {
    orderId: ID!
    status: String!
    "The order's version after this change: pass it back as afterVersion when reconnecting."
    version: Int!
    occurredAt: String!
  }

  type Query {
    "Subscriptions live on this endpoint over graphql-ws; queries go to POST /graphql."
    subscriptionsOnly: Boolean
  }

  type Subscription {
    "Status changes of one of the caller's orders; with afterVersion, first the current status if it changed since."
    orderStatusChanged(orderId: ID!, afterVersion: Int): OrderStatusChange!
  }
`;

/** The subscriber, as the HTTP gateway verified it (x-auth-* on the upgrade request). */
export interface SubscriptionContext {
  forward: Record<string, string>;
  tenant: string | undefined;
}

export interface OrderLookup {
  /** The order as the subscriber may see it; null when absent or not theirs. */
  (orderId: string, forward: Record<string, string>): Promise<{ status: string; version: number; updatedAt: string } | null>;
}

/** Reads one order through the orders subgraph with the subscriber's headers. */
export function subgraphOrderLookup(url: string, timeoutMs: number): OrderLookup {
  return async (orderId, forward) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...forward },
      body: JSON.stringify({ query: 'query($id: ID!) { order(id: $id) { status version updatedAt } }', variables: { id: orderId } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json()) as { data?: { order: { status: string; version: number; updatedAt: string } | null }; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length) {
      const code = body.errors[0]!.extensions?.code;
      if (code === 'FORBIDDEN' || code === 'NOT_FOUND') return null;
      throw new Error(`orders subgraph: ${body.errors[0]!.message}`);
    }
    if (!res.ok || !body.data) throw new Error(`orders subgraph answered ${res.status}`);
    return body.data.order;
  };
}

/** A push queue read as an async iterator; `return()` ends it at once, even while a `next()` waits. */
function channel<T>(onEnd: () => void): AsyncIterableIterator<T> & { push(value: T): void; return(): Promise<IteratorResult<T>> } {
  const queued: T[] = [];
  let waiting: ((r: IteratorResult<T>) => void) | undefined;
  let done = false;
  const end = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true;
      onEnd();
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
    }
    return Promise.resolve({ value: undefined, done: true });
  };
  return {
    push(value) {
      if (done) return;
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w({ value, done: false });
      } else queued.push(value);
    },
    next() {
      if (queued.length > 0) return Promise.resolve({ value: queued.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return: end,
    throw: async (err: unknown) => {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export function createSubscriptionSchema(feed: OrderStatusFeed, lookup: OrderLookup): GraphQLSchema {
  const schema = buildSchema(SUBSCRIPTION_TYPE_DEFS);
  const field = schema.getSubscriptionType()!.getFields().orderStatusChanged!;
  Object.assign(field, {
        resolve: (change: OrderStatusChange) => change,
        subscribe: async (_root: unknown, args: { orderId: string; afterVersion?: number | null }, ctx: SubscriptionContext) => {
          if (!ctx.forward['x-auth-sub']) throw new GraphQLError('no verified caller', { extensions: { code: 'UNAUTHENTICATED' } });
          let last = args.afterVersion ?? 0;
          const out = channel<OrderStatusChange>(() => stop());
          const stop = feed.listen(args.orderId, (change) => {
            if (change.tenantId === null || change.tenantId !== ctx.tenant) return;
            if (change.version <= last) return;
            last = change.version;
            out.push(change);
          });
          let order: Awaited<ReturnType<OrderLookup>>;
          try {
            order = await lookup(args.orderId, ctx.forward);
          } catch (err) {
            await out.return();
            throw err;
          }
          if (!order) {
            await out.return();
            throw new GraphQLError(`order ${args.orderId} not found`, { extensions: { code: 'NOT_FOUND' } });
          }
          // The read model, or this instance's last read event when the projector has not caught up yet.
          const seen = feed.latest(args.orderId);
          const current =
            seen && seen.tenantId === ctx.tenant && seen.version > order.version
              ? seen
              : { orderId: args.orderId, status: order.status, version: order.version, tenantId: ctx.tenant ?? null, eventId: '', occurredAt: order.updatedAt };
          if (args.afterVersion != null && current.version > last) {
            last = current.version;
            out.push(current);
          } else if (args.afterVersion == null) last = Math.max(last, current.version);
          return out;
        },
  });
  return schema;
}
