/**
 * Test helpers: the real orders service on port 0 against the PostgreSQL and
 * Kafka from Jest global setup, each test in its own schema, topic,
 * replication slot and publication (random suffix), all removed at cleanup.
 * The app connects as the runtime role (row-level security applies) and
 * migrates as the owner; `call` carries TEST_TENANT as the gateway would, and
 * the admin pool `db` (the owner, who bypasses RLS as a superuser) files the
 * rows it writes under TEST_TENANT too.
 */
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { connectAdmin, createKafka } from '@bulwark/events';
import { loadConfig } from '@bulwark/service-kit';
import { kafkaBrokers, pgUrl, runtimeDbUrl, sessionDbUrl, silent, suffix, tenantCall, TEST_TENANT } from '@bulwark/test-support';
import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
import { createOrdersApp, type OrdersApp } from '../src/app.ts';
import { ordersConfigSchema } from '../src/config.ts';
import { dropReplication } from '../src/relay/replication-setup.ts';

// Every test that imports this file fails on N+1 queries in a request or job (@bulwark/test-support/n-plus-one).
// Allowed, the projection statements (each runs once per batch of events) where batches repeat by design:
// a projector batch holding an event it cannot apply is applied again event by event, each under its own
// savepoint, to park only the bad ones (projections/parking.ts); a rebuild replays the whole log batch
// after batch (projections/rebuild.ts), with the same fallback.
const PROJECTION_STATEMENTS = ['orders.projection.summaries.load', 'orders.projection.summaries.upsert', 'orders.projection.counts.load', 'orders.projection.counts.statuses', 'orders.projection.counts.bump', 'orders.parked.insert'];
const REPEATED_BATCHES = {
  'orders.projector-batch': 'a batch holding a bad event is re-applied one event at a time to park only that event (parking.ts)',
  'POST /projections/:name/rebuild': 'a rebuild replays the whole log in batches, a batch with a bad event one event at a time (rebuild.ts, parking.ts)',
};
guardNPlusOne({
  allow: Object.entries(REPEATED_BATCHES).flatMap(([work, reason]) => PROJECTION_STATEMENTS.map((statement) => ({ statement, work, reason }))),
});

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

export interface BuildOverrides {
  relay?: boolean;
  kafkaBrokers?: string;
  projector?: boolean;
  beforeAcknowledge?: (lsn: string) => Promise<void>;
  /** Extra configuration keys (e.g. INVENTORY_URL, SAGA_* for the checkout saga). */
  env?: Record<string, string>;
}

export interface TestOrders {
  id: string;
  schema: string;
  topic: string;
  slot: string;
  publication: string;
  /** Admin pool (owner, superuser) with search_path = the test schema; rows it inserts belong to TEST_TENANT. */
  db: DbPool;
  /** The runtime role's URL (DATABASE_URL of the apps). */
  runtimeUrl: string;
  /** Builds (not starts) an app on this test's schema; relay optional. */
  build(overrides?: BuildOverrides): OrdersApp;
  /** The environment build() configures an app with (for a child process running src/main.ts). */
  env(overrides?: BuildOverrides): Record<string, string>;
  /** Builds and starts one app; returns its base URL. */
  start(overrides?: Parameters<TestOrders['build']>[0]): Promise<{ app: OrdersApp; url: string }>;
  cleanup(): Promise<void>;
}

export async function setupOrders(): Promise<TestOrders> {
  const id = suffix();
  const schema = `orders_${id}`;
  const topic = `test.${id}.orders`;
  const slot = `orders_relay_${id}`;
  const publication = `orders_events_${id}`;
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `orders_test_${id}`, max: 20, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const apps: OrdersApp[] = [];
  let usedKafka = false;
  const env: TestOrders['env'] = (o = {}) => {
    const relay = o.relay ?? false;
    const vars: Record<string, string | undefined> = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: runtimeUrl,
      MIGRATION_DATABASE_URL: pgUrl(),
      KAFKA_BROKERS: relay ? (o.kafkaBrokers ?? kafkaBrokers().join(',')) : undefined,
      ORDERS_SCHEMA: schema,
      ORDERS_TOPIC: topic,
      ORDERS_TOPIC_PARTITIONS: '3',
      SNAPSHOT_EVERY: '5',
      PROJECTOR_ENABLED: String(o.projector ?? true),
      PROJECTOR_POLL_MS: '20',
      RELAY_ENABLED: String(relay),
      RELAY_SLOT: slot,
      RELAY_PUBLICATION: publication,
      SHUTDOWN_TIMEOUT_MS: '2000',
      ...o.env,
    };
    return Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => e[1] !== undefined));
  };
  const build: TestOrders['build'] = (o = {}) => {
    usedKafka ||= o.relay ?? false;
    const config = loadConfig(ordersConfigSchema, env(o));
    const app = createOrdersApp({ config, logDestination: devNull as never, beforeAcknowledge: o.beforeAcknowledge });
    apps.push(app);
    return app;
  };
  return {
    id,
    schema,
    topic,
    slot,
    publication,
    db,
    runtimeUrl,
    build,
    env,
    async start(o) {
      const app = build(o);
      const { url } = await app.start();
      return { app, url };
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await dropReplication(db, slot, publication).catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
      if (usedKafka) {
        const admin = await connectAdmin(createKafka({ brokers: kafkaBrokers(), clientId: `orders-test-${id}` }));
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(`test.${id}.`));
        if (topics.length > 0) await admin.deleteTopics(topics);
        await admin.disconnect();
      }
    },
  };
}

// The JSON call and the poll are the shared ones (@bulwark/test-support); calls carry TEST_TENANT unless told otherwise.
export const call = tenantCall(TEST_TENANT);
export { pgUrl, silent, suffix, waitFor, TEST_TENANT, OTHER_TENANT, type Reply } from '@bulwark/test-support';

export const ADDRESS = { line1: '1 Main St', city: 'Lyon', postalCode: '69001', country: 'FR' };
