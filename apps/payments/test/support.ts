/**
 * Test helpers: the PSP simulator as a real child process, the payments
 * service in-process (port 0) or as a child process, each test on its own
 * PostgreSQL schema (random suffix) removed at cleanup. The service connects
 * as the runtime role (row-level security applies) and migrates as the owner;
 * `call` carries TEST_TENANT as the gateway would, and the admin pool `db`
 * files rows it writes under TEST_TENANT too. The real identity (one per test
 * file) issues the service tokens /v1/internal/payments requires.
 */
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { freePort, pgUrl, runtimeDbUrl, sessionDbUrl, silent, startService, suffix, tenantCall, TEST_TENANT, waitFor, type Service } from '@bulwark/test-support';
import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
import { createPaymentsApp, type PaymentsApp } from '../src/app.ts';
import { paymentsConfigSchema } from '../src/config.ts';
import { sharedServiceIssuer, type ServiceIssuer } from '../../identity/test/service-issuer.ts';

// Every test that imports this file fails on N+1 queries in a request or job (@bulwark/test-support/n-plus-one).
guardNPlusOne();

export { freePort, silent, waitFor, TEST_TENANT, OTHER_TENANT, type Reply, type Service } from '@bulwark/test-support';

/** The JSON call, carrying TEST_TENANT unless told otherwise (`'x-auth-tenant': ''` sends none). */
export const call = tenantCall(TEST_TENANT);

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

export const SECRET_OLD = 'whsec_old_0123456789abcdef';
export const SECRET_NEW = 'whsec_new_fedcba9876543210';

/** Starts src/<entry> (this app's, with Node 24 from the TypeScript sources) on `port` and waits for /readyz. */
export async function spawnProcess(entry: string, port: number, env: Record<string, string>): Promise<Service> {
  return startService({ main: entry, cwd: APP_DIR, port, env: { SHUTDOWN_TIMEOUT_MS: '1000', ...env } });
}

export interface TestPayments {
  id: string;
  schema: string;
  /** The real identity issuing the service (and user) tokens the app verifies. */
  issuer: ServiceIssuer;
  db: DbPool;
  pspPort: number;
  /** Payments URL the PSP sends webhooks to (fixed before anything starts). */
  paymentsPort: number;
  psp?: Service;
  startPsp(env?: Record<string, string>): Promise<Service>;
  /** The payments service in this process on paymentsPort. */
  startApp(env?: Record<string, string>): Promise<{ app: PaymentsApp; url: string }>;
  /** The payments service as a child process on paymentsPort. */
  spawnApp(env?: Record<string, string>): Promise<Service>;
  paymentsEnv(env?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
}

export async function setupPayments(): Promise<TestPayments> {
  const id = suffix();
  const schema = `payments_${id}`;
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `payments_test_${id}`, max: 10, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const issuer = await sharedServiceIssuer();
  const pspPort = await freePort();
  const paymentsPort = await freePort();
  const apps: PaymentsApp[] = [];
  const children: Service[] = [];
  const paymentsEnv = (env: Record<string, string> = {}): Record<string, string> => ({
    HOST: '127.0.0.1',
    PORT: String(paymentsPort),
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    PAYMENTS_SCHEMA: schema,
    PSP_URL: `http://127.0.0.1:${pspPort}`,
    PSP_TIMEOUT_MS: '1000',
    PSP_WEBHOOK_SECRETS: `${SECRET_NEW},${SECRET_OLD}`,
    PSP_FORWARD_SIMULATE_HEADER: 'true',
    PSP_BREAKER_VOLUME: '1000',
    EVENTS_ENABLED: 'false',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...issuer.verifierEnv,
    ...env,
  });
  const t: TestPayments = {
    id,
    issuer,
    schema,
    db,
    pspPort,
    paymentsPort,
    async startPsp(env = {}) {
      const c = await spawnProcess('src/psp/main.ts', pspPort, {
        PSP_WEBHOOK_URLS: `http://127.0.0.1:${paymentsPort}/v1/psp/webhooks`,
        PSP_WEBHOOK_SECRETS: SECRET_OLD,
        PSP_WEBHOOK_BACKOFF_MS: '50',
        PSP_TIMEOUT_HOLD_MS: '5000',
        PSP_OUT_OF_ORDER_HOLD_MS: '300',
        ...env,
      });
      children.push(c);
      t.psp = c;
      return c;
    },
    async startApp(env = {}) {
      const config = loadConfig(paymentsConfigSchema, paymentsEnv(env));
      const app = createPaymentsApp({ config, logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async spawnApp(env = {}) {
      const c = await spawnProcess('src/main.ts', paymentsPort, paymentsEnv(env));
      children.push(c);
      return c;
    },
    paymentsEnv,
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      for (const c of children) await c.kill('SIGKILL');
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
  return t;
}

/** The PSP's knobs, counters and webhook stats. */
export async function pspState(pspUrl: string): Promise<{ counters: Record<string, number>; webhooks: { delivered: number; failedAttempts: number; gaveUp: number; inFlight: number } }> {
  return (await call(pspUrl, 'GET', '/v1/_simulator')).body;
}

export async function setKnobs(pspUrl: string, knobs: Record<string, unknown>): Promise<void> {
  const r = await call(pspUrl, 'PUT', '/v1/_simulator', knobs);
  if (r.status !== 200) throw new Error(`PUT /v1/_simulator: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Waits until the PSP has no webhook delivery in flight or held back. */
export async function webhooksSettled(pspUrl: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 350)); // past PSP_OUT_OF_ORDER_HOLD_MS, so held events are in flight
  await waitFor(async () => (await pspState(pspUrl)).webhooks.inFlight === 0, 'PSP webhooks delivered');
}
