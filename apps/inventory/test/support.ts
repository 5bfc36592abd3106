/**
 * Test helpers: the real inventory service on port 0 against the PostgreSQL
 * from Jest global setup, each test in its own schema (random suffix),
 * removed at cleanup. The service connects as the runtime role (row-level
 * security applies) and migrates as the owner; `call` carries TEST_TENANT as
 * the gateway would, and the admin pool `db` files rows it writes under
 * TEST_TENANT too. The reservation routes are the orders saga's internal API:
 * setupInventory starts the real identity, and `call` sends orders' service
 * token to /v1/internal/ paths as the saga does.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { pgUrl, runtimeDbUrl, sessionDbUrl, silent, suffix, tenantCall, TEST_TENANT, type Reply } from '@bulwark/test-support';
import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
import { sharedServiceIssuer, type ServiceIssuer } from '../../identity/test/service-issuer.ts';
import { createInventoryApp, type InventoryApp } from '../src/app.ts';
import { inventoryConfigSchema } from '../src/config.ts';

// Every test that imports this file fails on N+1 queries in a request or job (@bulwark/test-support/n-plus-one).
guardNPlusOne();

export type { Reply } from '@bulwark/test-support';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

export interface TestInventory {
  schema: string;
  /** The real identity issuing the service (and user) tokens the app verifies. */
  issuer: ServiceIssuer;
  /** Admin pool (owner, superuser) with search_path = the test schema; rows it inserts belong to TEST_TENANT. */
  db: DbPool;
  /** The environment build() configures an app with (for a child process running src/main.ts). */
  env(extra?: Record<string, string>): Record<string, string>;
  build(env?: Record<string, string>): InventoryApp;
  start(env?: Record<string, string>): Promise<{ app: InventoryApp; url: string }>;
  cleanup(): Promise<void>;
}

export async function setupInventory(): Promise<TestInventory> {
  const id = suffix();
  const schema = `inventory_${id}`;
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `inventory_test_${id}`, max: 10, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const issuer = await sharedServiceIssuer();
  const apps: InventoryApp[] = [];
  const envOf = (env: Record<string, string> = {}): Record<string, string> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    INVENTORY_SCHEMA: schema,
    SWEEPER_ENABLED: 'false',
    EVENTS_ENABLED: 'false',
    SHUTDOWN_TIMEOUT_MS: '2000',
    DB_POOL_MAX: '60',
    ...issuer.verifierEnv,
    ...env,
  });
  const build = (env: Record<string, string> = {}): InventoryApp => {
    const config = loadConfig(inventoryConfigSchema, envOf(env));
    const app = createInventoryApp({ config, logDestination: devNull as never });
    apps.push(app);
    return app;
  };
  return {
    schema,
    issuer,
    db,
    env: envOf,
    build,
    async start(env) {
      const app = build(env);
      const { url } = await app.start();
      return { app, url };
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
}

/** `authorization: Bearer <orders' service token>` from this file's identity, as the saga sends it. */
export async function serviceAuth(): Promise<Record<string, string>> {
  return { authorization: await (await sharedServiceIssuer()).orders.authorization() };
}

const tenantScoped = tenantCall(TEST_TENANT);

/**
 * The JSON call carrying `x-auth-tenant: TEST_TENANT` as the gateway would, unless the headers set it (`''` sends none);
 * to /v1/internal/ it also carries orders' service token unless the headers set `authorization` (`''` sends none).
 */
export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const { authorization, ...rest } = headers;
  const auth = authorization ?? (path.startsWith('/v1/internal/') ? await (await sharedServiceIssuer()).orders.authorization() : '');
  return tenantScoped(url, method, path, body, auth === '' ? rest : { ...rest, authorization: auth });
}

export const key = (): Record<string, string> => ({ 'idempotency-key': randomUUID() });

/** Stock invariants over every SKU of the schema: nothing negative, nothing reserved beyond what is on hand, reserved = sum of held items. */
export async function assertStockConsistent(db: DbPool): Promise<void> {
  const { rows } = await db.query<{ sku: string; on_hand: number; reserved: number; held: number }>(
    `SELECT s.sku, s.on_hand, s.reserved, COALESCE((SELECT sum(i.quantity)::int FROM reservation_items i JOIN reservations r ON r.id = i.reservation_id WHERE i.sku = s.sku AND r.status = 'held'), 0) AS held FROM skus s`,
  );
  for (const r of rows) {
    if (r.on_hand < 0 || r.reserved < 0 || r.reserved > r.on_hand || r.reserved !== r.held) throw new Error(`stock of ${r.sku} is inconsistent: ${JSON.stringify(r)}`);
  }
}
