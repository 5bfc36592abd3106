/**
 * The two services a cart calls, through the one service client of the kit
 * (@bulwark/service-kit/service-client: per-call timeout, a breaker counting
 * transient failures, a 4xx as an answer): inventory for what a SKU has
 * available (GET /v1/skus/:sku, stock being shared catalogue data that any
 * caller may read), orders to create the order and start its checkout saga.
 * Orders is called as the customer the gateway verified (x-auth-sub,
 * x-auth-roles, x-auth-tenant), so its ownership rules apply as if the
 * customer had called it: the order is created for that customer only.
 */
import { Counter, type Registry } from 'prom-client';
import { createServiceClient, type ServiceClient, type ServiceClientLog, type ServiceResponse } from '@bulwark/service-kit/service-client';
import { catalogError } from '../errors.ts';

export interface Principal {
  sub: string;
  roles: readonly string[];
  tenant: string;
}

export interface StockReader {
  /** Units available per SKU (0 for a SKU inventory does not know). */
  available(skus: readonly string[]): Promise<Map<string, number>>;
}

export interface OrdersApi {
  call(principal: Principal, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, idempotencyKey?: string): Promise<ServiceResponse<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CartServices {
  stock: StockReader;
  orders: OrdersApi;
  close(): void;
}

const BREAKER = { errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeoutMs: 5_000 };

function callsCounter(registry: Registry): Counter<'callee' | 'outcome'> {
  const existing = registry.getSingleMetric('catalog_cart_calls_total');
  if (existing) return existing as Counter<'callee' | 'outcome'>;
  return new Counter({ name: 'catalog_cart_calls_total', help: 'Calls of the cart to inventory and orders (callee) by outcome (2xx, 4xx, 5xx, timeout, network, circuit_open).', labelNames: ['callee', 'outcome'], registers: [registry] });
}

/** Maps a transient failure of a callee to 503 CATALOG_CART_UPSTREAM (retry with the same Idempotency-Key). */
async function reaching<T>(service: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw Object.assign(catalogError('CATALOG_CART_UPSTREAM', `${service} could not be reached; try again`, { service }), { cause: err });
  }
}

interface ClientOptions {
  timeoutMs: number;
  registry: Registry;
  log: ServiceClientLog;
}

function clientFactory(options: ClientOptions): (name: string, baseUrl: string) => ServiceClient {
  const calls = callsCounter(options.registry);
  return (name, baseUrl) => createServiceClient({ name, baseUrl, timeoutMs: options.timeoutMs, breaker: BREAKER, log: options.log, onOutcome: (outcome) => calls.inc({ callee: name, outcome }) });
}

function stockReader(inventory: ServiceClient): StockReader {
  return {
    async available(skus) {
      const answers = await reaching('inventory', () => Promise.all(skus.map((sku) => inventory.call<{ available: number }>({ method: 'GET', path: `/v1/skus/${encodeURIComponent(sku)}` }))));
      return new Map(skus.map((sku, i) => [sku, answers[i]!.status === 200 ? answers[i]!.body!.available : 0]));
    },
  };
}

/** The stock reader alone (the inventory-events consumer asks it for the levels an event moved). */
export function createStockReader(options: ClientOptions & { inventoryUrl: string }): StockReader & { close(): void } {
  const inventory = clientFactory(options)('inventory', options.inventoryUrl);
  return { ...stockReader(inventory), close: () => inventory.close() };
}

export function createCartServices(options: ClientOptions & { inventoryUrl: string; ordersUrl: string }): CartServices {
  const client = clientFactory(options);
  const inventory = client('inventory', options.inventoryUrl);
  const orders = client('orders', options.ordersUrl);
  return {
    stock: stockReader(inventory),
    orders: {
      call(principal, method, path, body, idempotencyKey) {
        const headers = { 'x-auth-sub': principal.sub, 'x-auth-roles': principal.roles.join(','), 'x-auth-tenant': principal.tenant };
        return reaching('orders', () => orders.call({ method, path, body, headers, idempotencyKey }));
      },
    },
    close() {
      inventory.close();
      orders.close();
    },
  };
}
