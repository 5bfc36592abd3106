/**
 * The whole platform in this process for the contract test: inventory,
 * payments (with the PSP simulator as a child process), orders (checkout saga
 * wired to both), notifications, catalog (its carts wired to inventory and orders), collab (a child process) and the gateway, each started the way its
 * own test/support.ts does, against the PostgreSQL/Redis/Kafka of Jest
 * global setup. The gateway runs apps/gateway/routes.json with the upstreams
 * this process started (identity included; the gateway verifies tokens of a
 * test issuer, so identity's own bearer routes answer 401 through it).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '@bulwark/test-support';
import { setupCatalog } from '../../../apps/catalog/test/support.ts';
import { setupCollab } from '../../../apps/collab/test/support.ts';
import { setupIdentity } from '../../../apps/identity/test/support.ts';
import { setupInventory } from '../../../apps/inventory/test/support.ts';
import { setupNotifications } from '../../../apps/notifications/test/support.ts';
import { setupOrders } from '../../../apps/orders/test/support.ts';
import { setupPayments } from '../../../apps/payments/test/support.ts';
import { redisUrl, startGateway, startIssuer, type Issuer } from '../../../apps/gateway/test/support.ts';

export interface RunningService {
  name: string;
  url: string;
}

export interface Platform {
  services: RunningService[];
  issuer: Issuer;
  /** Upstreams of the gateway's routes file that nothing here serves. */
  missingUpstreams: string[];
  /** Ids of the gateway routes that require a token. */
  authRoutes: string[];
  stop(): Promise<void>;
}

const ROUTES_FILE = fileURLToPath(new URL('../../../apps/gateway/routes.json', import.meta.url));

export async function startPlatform(): Promise<Platform> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const inventory = await setupInventory();
    stops.push(() => inventory.cleanup());
    const inv = await inventory.start();

    const payments = await setupPayments();
    stops.push(() => payments.cleanup());
    await payments.startPsp();
    const pay = await payments.startApp({ PSP_FORWARD_SIMULATE_HEADER: 'false' });

    const orders = await setupOrders();
    stops.push(() => orders.cleanup());
    const ord = await orders.start({ env: { INVENTORY_URL: inv.url, PAYMENTS_URL: pay.url, ...inventory.issuer.ordersEnv } });

    const notifications = await setupNotifications();
    stops.push(() => notifications.cleanup());
    const notif = await notifications.startApp();

    const catalog = await setupCatalog();
    stops.push(() => catalog.cleanup());
    const cat = await catalog.start({ INVENTORY_URL: inv.url, ORDERS_URL: ord.url });

    const identity = await setupIdentity();
    stops.push(() => identity.cleanup());
    const idn = await identity.start();

    const collab = await setupCollab();
    stops.push(() => collab.cleanup());
    const col = await collab.spawn();

    const issuer = await startIssuer();
    stops.push(() => issuer.close());
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const ours: Record<string, string> = { identity: idn.url, orders: ord.url, payments: pay.url, notifications: notif.url, inventory: inv.url, catalog: cat.url, collab: col.url };
    const routes = JSON.parse(readFileSync(ROUTES_FILE, 'utf8')) as { upstreams: Record<string, { url: string }>; routes: { id: string; auth?: { required?: boolean } }[] };
    const missingUpstreams: string[] = [];
    for (const [name, upstream] of Object.entries(routes.upstreams)) {
      upstream.url = ours[name] ?? nowhere;
      if (!ours[name]) missingUpstreams.push(name);
    }
    const gateway = await startGateway(routes, { JWKS_URL: issuer.jwksUrl, REDIS_URL: redisUrl(), LOG_LEVEL: 'warn', TRUST_PROXY_HOPS: '1' });
    stops.push(() => gateway.stop());

    return {
      services: [
        { name: 'inventory', url: inv.url },
        { name: 'payments', url: pay.url },
        { name: 'orders', url: ord.url },
        { name: 'notifications', url: notif.url },
        { name: 'catalog', url: cat.url },
        { name: 'collab', url: col.url },
        { name: 'identity', url: idn.url },
        { name: 'gateway', url: gateway.url },
      ],
      issuer,
      missingUpstreams,
      authRoutes: routes.routes.filter((r) => r.auth && r.auth.required !== false).map((r) => r.id),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
