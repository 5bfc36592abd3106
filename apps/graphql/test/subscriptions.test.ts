/**
 * Subscriptions over graphql-ws on the gateway's /graphql, fed by the real
 * orders service's events on real Kafka: a customer gets its own order's
 * status changes, another customer or tenant is refused, and after the
 * gateway instance is replaced a client reconnecting with its cursor gets
 * the change it missed, then the changes that follow.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { TEST_TENANT, waitFor } from '@bulwark/test-support';
import { startGateway as startHttpGateway, startIssuer } from '../../gateway/test/support.ts';
import { ADDRESS, call } from '../../orders/test/support.ts';
import { CUSTOMER_HEADERS, graphql, startFederation, type Federation } from './support.ts';

const SUBSCRIPTION = 'subscription($id: ID!, $after: Int) { orderStatusChanged(orderId: $id, afterVersion: $after) { orderId status version } }';

interface Change {
  orderId: string;
  status: string;
  version: number;
}

interface Subscriber {
  received: Change[];
  errors: { message: string; extensions?: { code?: string } }[];
  close(): Promise<void>;
}

/** Subscribes as the HTTP gateway would forward the caller (x-auth-* on the upgrade request). */
function subscribe(gatewayUrl: string, headers: Record<string, string>, orderId: string, afterVersion?: number): Subscriber {
  const WithHeaders = class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  };
  const client = createClient({ url: `${gatewayUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WithHeaders, retryAttempts: 0 });
  const out: Subscriber = {
    received: [],
    errors: [],
    async close() {
      dispose();
      await client.dispose();
    },
  };
  const dispose = client.subscribe<{ orderStatusChanged: Change }>(
    { query: SUBSCRIPTION, variables: { id: orderId, after: afterVersion ?? null } },
    {
      next: (result) => {
        if (result.data) out.received.push(result.data.orderStatusChanged);
        if (result.errors) out.errors.push(...(result.errors as Subscriber['errors']));
      },
      error: (err) => out.errors.push(...(Array.isArray(err) ? err : [{ message: String(err) }])),
      complete: () => undefined,
    },
  );
  return out;
}

let f: Federation;
const subscribers: Subscriber[] = [];
const track = (s: Subscriber): Subscriber => (subscribers.push(s), s);

beforeAll(async () => {
  f = await startFederation({ events: true });
}, 120_000);

afterAll(async () => {
  for (const s of subscribers) await s.close().catch(() => undefined);
  await f?.cleanup();
});

async function createOrder(customer: string): Promise<string> {
  const res = await call(f.ordersUrl, 'POST', '/orders', { customerId: customer });
  expect(res.status).toBe(201);
  const id = (res.body as { order: { orderId: string } }).order.orderId;
  // The subgraph reads the read model: wait until the projector has the order.
  await waitFor(async () => (await call(f.ordersUrl, 'GET', `/orders/${id}`)).status === 200, 'the order in the read model');
  return id;
}

describe('orderStatusChanged', () => {
  test("when a customer subscribes to its order and the order is cancelled, then it receives the change; another customer's or tenant's subscription is refused", async () => {
    const id = await createOrder('alice');
    const alice = track(subscribe(f.gatewayUrl, CUSTOMER_HEADERS('alice'), id, 1));
    const mallory = track(subscribe(f.gatewayUrl, CUSTOMER_HEADERS('mallory'), id));
    const otherTenant = track(subscribe(f.gatewayUrl, { ...CUSTOMER_HEADERS('alice'), 'x-auth-tenant': 'another-tenant' }, id));
    await waitFor(async () => mallory.errors.length > 0 && otherTenant.errors.length > 0, 'the refusals');
    expect(mallory.errors[0]!.extensions?.code).toBe('NOT_FOUND');
    expect(otherTenant.errors[0]!.extensions?.code).toBe('NOT_FOUND');

    expect((await call(f.ordersUrl, 'POST', `/orders/${id}/cancel`, { reason: 'changed my mind' })).status).toBe(200);
    await waitFor(async () => alice.received.some((c) => c.status === 'cancelled'), 'alice receives the cancellation');
    expect(alice.errors).toEqual([]);
    expect(alice.received.at(-1)).toEqual({ orderId: id, status: 'cancelled', version: 2 });
    expect(mallory.received).toEqual([]);
    expect(otherTenant.received).toEqual([]);
  });

  test('when a connection without a verified caller subscribes, then it is refused', async () => {
    const anonymous = track(subscribe(f.gatewayUrl, {}, 'any-order'));
    await waitFor(async () => anonymous.errors.length > 0, 'the refusal');
    expect(anonymous.received).toEqual([]);
  });

  test('when the gateway instance is replaced, then a client reconnecting with its cursor gets the change it missed and the changes after', async () => {
    const id = await createOrder('bob');
    expect((await call(f.ordersUrl, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 1, unitPriceCents: 500 })).status).toBe(200);
    expect((await call(f.ordersUrl, 'PUT', `/orders/${id}/address`, { address: ADDRESS })).status).toBe(200);
    const first = await f.startGateway();
    const before = track(subscribe(first, CUSTOMER_HEADERS('bob'), id, 3));
    await f.stopGateway(first);
    // While no instance serves bob, the order is placed (version 4).
    expect((await call(f.ordersUrl, 'POST', `/orders/${id}/place`, {})).body).toMatchObject({ version: 4 });
    await waitFor(async () => (await call(f.ordersUrl, 'GET', `/orders/${id}`)).body?.version === 4, 'the read model at version 4');
    expect(before.received).toEqual([]);

    const second = await f.startGateway();
    const cursor = before.received.at(-1)?.version ?? 3;
    const after = track(subscribe(second, CUSTOMER_HEADERS('bob'), id, cursor));
    await waitFor(async () => after.received.length > 0, 'the missed change after reconnecting');
    expect(after.received[0]).toEqual({ orderId: id, status: 'placed', version: 4 });

    expect((await call(f.ordersUrl, 'POST', `/orders/${id}/ship`, { carrier: 'ups' })).status).toBe(200);
    await waitFor(async () => after.received.some((c) => c.status === 'shipped'), 'the next change, live');
    expect(after.received.map((c) => c.status)).toEqual(['placed', 'shipped']);
    expect(after.errors).toEqual([]);
  });

  test('when a customer subscribes through the HTTP gateway with its token, then the gateway passes the upgrade with its identity and the change arrives', async () => {
    const issuer = await startIssuer();
    const http = await startHttpGateway(
      {
        upstreams: { graphql: { url: f.gatewayUrl } },
        routes: [{ id: 'graphql-ws', match: { pattern: '/graphql' }, upstream: 'graphql', websocket: true, methods: ['GET'], auth: { required: true, roles: [] } }],
      },
      { JWKS_URL: issuer.jwksUrl, JWKS_COOLDOWN_MS: '0' },
    );
    let carol: Subscriber | undefined;
    try {
      const id = await createOrder('carol');
      const token = await issuer.sign({ sub: 'carol', tenant: TEST_TENANT, roles: ['orders'] });
      const subscriber = subscribe(http.url, { authorization: `Bearer ${token}` }, id, 1);
      carol = subscriber;
      expect((await call(f.ordersUrl, 'POST', `/orders/${id}/cancel`, { reason: 'duplicate' })).status).toBe(200);
      await waitFor(async () => subscriber.received.length > 0 || subscriber.errors.length > 0, 'the change through the HTTP gateway');
      expect(subscriber.errors).toEqual([]);
      expect(subscriber.received).toEqual([{ orderId: id, status: 'cancelled', version: 2 }]);
    } finally {
      // The HTTP gateway drains by closing its server, which waits for piped sockets: close the client first.
      await carol?.close();
      await http.stop();
      await issuer.close();
    }
  });

  test('when Kafka cannot be reached, then the gateway still becomes ready and answers queries', async () => {
    const url = await f.startGateway({ KAFKA_BROKERS: '127.0.0.1:9', SUBSCRIPTIONS_START_WAIT_MS: '200' });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const reply = await graphql(url, '{ orders(first: 1) { id } }', {}, CUSTOMER_HEADERS('nobody'));
    expect(reply.status).toBe(200);
    await f.stopGateway(url);
  });
});
