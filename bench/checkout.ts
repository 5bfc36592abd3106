/**
 * End-to-end checkouts through the three services, each a real process started
 * from its own entry point (PSP simulator, payments, inventory, orders with the
 * saga runner), PostgreSQL from scripts/infra in throwaway schemas.
 *
 * Two stacks run side by side and take turns, round by round:
 *   protected  — as deployed: Idempotency-Key stores in orders, inventory and
 *                payments; opossum breakers on the saga's calls and on the PSP.
 *   baseline   — the same processes with IDEMPOTENCY_ENABLED=false (a plain
 *                request transaction instead of the key store),
 *                SAGA_BREAKERS_ENABLED=false and PSP_BREAKER_ENABLED=false.
 * The overhead ratio (protected / baseline) is the figure.
 *
 * One checkout = POST /orders/:id/checkout with a fresh key; the client then
 * waits for the saga row to turn `completed` (one watcher query every
 * BENCH_POLL_MS (25) for all waiting clients, so polling adds no load to the
 * services); its latency is from before the POST to the saga row's
 * `updated_at` of the completing transaction (reserve → authorize → confirm →
 * capture: 4 service calls and 2 PSP calls). Orders are drafted before the
 * timed part; they spread over BENCH_SKUS (50) SKUs. BENCH_CHECKOUTS (200) per round at BENCH_CONCURRENCY (16),
 * BENCH_ROUNDS (3) after one warm-up round. Kafka is left out (EVENTS_ENABLED /
 * RELAY_ENABLED false): outbox rows are still written, only not relayed.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPool, type DbPool } from '@bulwark/db';
import { freePort, runtimeDbUrl, type Service, silent, startService, tenantCall } from '@bulwark/test-support';

/** Calls as the gateway forwards them: one tenant for the whole bench. */
const call = tenantCall('bench');
import { Registry } from 'prom-client';
import { ensureInfra } from '../scripts/infra/index.ts';

const N = Number(process.env.BENCH_CHECKOUTS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 25);
const SKUS = Number(process.env.BENCH_SKUS ?? 50);

const entry = (rel: string) => fileURLToPath(new URL(`../apps/${rel}`, import.meta.url));
const MAINS = { identity: entry('identity/src/main.ts'), psp: entry('payments/src/psp/main.ts'), payments: entry('payments/src/main.ts'), inventory: entry('inventory/src/main.ts'), orders: entry('orders/src/main.ts') };

type Variant = 'protected' | 'baseline';
interface Figures {
  rps: number;
  p50: number;
  p99: number;
  max: number;
}
/** Every child started, so an interrupted bench (SIGINT/SIGTERM) does not leave services running. */
const children = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  });
}

/** A service's main.ts as a child process on `port`, ready on /readyz; stop() gives it 10 s after SIGTERM. */
async function startProcess(name: string, main: string, port: number, env: Record<string, string>): Promise<Service> {
  return startService({
    name,
    main,
    port,
    env,
    stopGraceMs: 10_000,
    onSpawn: (child) => {
      children.add(child);
      child.once('exit', () => children.delete(child));
    },
  });
}

interface Stack {
  variant: Variant;
  orders: string;
  ordersSchema: string;
  inventory: string;
  procs: Service[];
  schemas: string[];
}

/** identity, issuing orders' client-credentials token (inventory and payments refuse the saga's calls without it); shared by both stacks. */
interface Issuer {
  proc: Service;
  schema: string;
  /** inventory's and payments' verifier settings. */
  verifier: Record<string, string>;
  /** orders' client settings. */
  client: Record<string, string>;
}

async function startIdentity(pgUrl: string, redisUrl: string): Promise<Issuer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const secret = randomBytes(24).toString('hex');
  const schema = `bench_co_identity_${process.pid}`;
  const proc = await startProcess('identity', MAINS.identity, port, {
    DATABASE_URL: await runtimeDbUrl(pgUrl),
    MIGRATION_DATABASE_URL: pgUrl,
    REDIS_URL: redisUrl,
    IDENTITY_SCHEMA: schema,
    RATE_LIMIT_PREFIX: `rl:bench-checkout-${process.pid}`,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TENANTS: 'bench:Bench',
    JWT_ISSUER: url,
    OIDC_SERVICE_CLIENTS: `orders=${secret}`,
  });
  return { proc, schema, verifier: { JWKS_URL: `${url}/.well-known/jwks.json`, JWT_ISSUER: url }, client: { IDENTITY_URL: url, IDENTITY_CLIENT_SECRET: secret } };
}

async function startStack(variant: Variant, pgUrl: string, issuer: Issuer): Promise<Stack> {
  const tag = `${variant}_${process.pid}`;
  const schemas = { orders: `bench_co_orders_${tag}`, inventory: `bench_co_inv_${tag}`, payments: `bench_co_pay_${tag}` };
  const off = variant === 'baseline';
  const idem = { IDEMPOTENCY_ENABLED: off ? 'false' : 'true' };
  const secret = `whsec_${randomUUID()}`;
  const procs: Service[] = [];
  const paymentsPort = await freePort();
  const psp = await startProcess(`${variant} psp`, MAINS.psp, await freePort(), { PSP_WEBHOOK_URLS: `http://127.0.0.1:${paymentsPort}/v1/psp/webhooks`, PSP_WEBHOOK_SECRETS: secret });
  procs.push(psp);
  const payments = await startProcess(`${variant} payments`, MAINS.payments, paymentsPort, {
    DATABASE_URL: await runtimeDbUrl(pgUrl),
    MIGRATION_DATABASE_URL: pgUrl,
    PAYMENTS_SCHEMA: schemas.payments,
    PSP_URL: psp.url,
    PSP_WEBHOOK_SECRETS: secret,
    EVENTS_ENABLED: 'false',
    PSP_BREAKER_ENABLED: off ? 'false' : 'true',
    ...issuer.verifier,
    ...idem,
  });
  procs.push(payments);
  const inventory = await startProcess(`${variant} inventory`, MAINS.inventory, await freePort(), { DATABASE_URL: await runtimeDbUrl(pgUrl), MIGRATION_DATABASE_URL: pgUrl, INVENTORY_SCHEMA: schemas.inventory, EVENTS_ENABLED: 'false', ...issuer.verifier, ...idem });
  procs.push(inventory);
  const orders = await startProcess(`${variant} orders`, MAINS.orders, await freePort(), {
    DATABASE_URL: await runtimeDbUrl(pgUrl),
    MIGRATION_DATABASE_URL: pgUrl,
    ORDERS_SCHEMA: schemas.orders,
    RELAY_ENABLED: 'false',
    INVENTORY_URL: inventory.url,
    PAYMENTS_URL: payments.url,
    SAGA_POLL_MS: '20',
    SAGA_BREAKERS_ENABLED: off ? 'false' : 'true',
    ...issuer.client,
    ...idem,
  });
  procs.push(orders);
  return { variant, orders: orders.url, ordersSchema: schemas.orders, inventory: inventory.url, procs, schemas: Object.values(schemas) };
}

async function draft(stack: Stack, sku: string, i: number): Promise<string> {
  const id = (await call(stack.orders, 'POST', '/orders', { customerId: `bench-${i}` })).body.order.orderId as string;
  await call(stack.orders, 'POST', `/orders/${id}/items`, { sku, quantity: 1, unitPriceCents: 1_000 + (i % 100) });
  await call(stack.orders, 'PUT', `/orders/${id}/address`, { address: { line1: '1 Bench Street', city: 'Lyon', postalCode: '69001', country: 'FR' } });
  return id;
}

/** Resolves each waiting order when its saga row is completed, with the epoch ms of that commit; one query per tick. */
function sagaWatcher(db: DbPool, schema: string) {
  const waiting = new Map<string, { resolve: (at: number) => void; reject: (err: Error) => void }>();
  let running = true;
  const loop = (async () => {
    while (running) {
      if (waiting.size > 0) {
        const { rows } = await db.query<{ order_id: string; status: string; at: number; failure: unknown }>(
          `SELECT order_id, status, extract(epoch FROM updated_at) * 1000 AS at, state->'failure' AS failure FROM "${schema}".checkout_sagas WHERE order_id = ANY($1) AND status IN ('completed', 'failed')`,
          [[...waiting.keys()]],
        );
        for (const r of rows) {
          const w = waiting.get(r.order_id)!;
          waiting.delete(r.order_id);
          if (r.status === 'completed') w.resolve(Number(r.at));
          else w.reject(new Error(`checkout ${r.order_id} failed: ${JSON.stringify(r.failure)}`));
        }
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  return {
    completed: (orderId: string) => new Promise<number>((resolve, reject) => waiting.set(orderId, { resolve, reject })),
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function round(stack: Stack, db: DbPool): Promise<Figures> {
  // BENCH_SKUS (50) SKUs, so the figure is the flow's cost rather than one hot stock row's lock queue.
  const tag = randomUUID().slice(0, 8);
  const skus = Array.from({ length: SKUS }, (_, i) => `bench-${tag}-${i}`);
  for (const sku of skus) {
    const put = await call(stack.inventory, 'PUT', `/v1/skus/${sku}`, { onHand: N * 2 });
    if (put.status !== 200) throw new Error(`stock: ${put.status} ${JSON.stringify(put.body)}`);
  }
  const ids: string[] = [];
  for (let i = 0; i < N; i += CONCURRENCY) ids.push(...(await Promise.all(Array.from({ length: Math.min(CONCURRENCY, N - i) }, (_, j) => draft(stack, skus[(i + j) % SKUS]!, i + j)))));
  const watcher = sagaWatcher(db, stack.ordersSchema);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const id = ids[next++]!;
          const completed = watcher.completed(id);
          const t0 = performance.timeOrigin + performance.now();
          const res = await call(stack.orders, 'POST', `/orders/${id}/checkout`, {}, { 'idempotency-key': randomUUID() });
          if (res.status !== 202) throw new Error(`${stack.variant} checkout ${id}: ${res.status} ${JSON.stringify(res.body)}`);
          latencies.push(Math.max(0, (await completed) - t0));
        }
      }),
    );
  } finally {
    await watcher.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: N / seconds, p50: latencies[Math.floor(N * 0.5)]!, p99: latencies[Math.min(N - 1, Math.floor(N * 0.99))]!, max: latencies[N - 1]! };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function run(): Promise<void> {
  const infra = await ensureInfra(['postgres', 'redis']);
  const pgUrl = infra.BULWARK_PG_URL!;
  const stacks: Stack[] = [];
  let issuer: Issuer | undefined;
  const results: Record<Variant, Figures[]> = { protected: [], baseline: [] };
  const watchDb = createPool({ connectionString: pgUrl, name: 'bench-checkout-watch', max: 2, registry: new Registry(), log: silent });
  try {
    issuer = await startIdentity(pgUrl, infra.BULWARK_REDIS_URL!);
    stacks.push(await startStack('protected', pgUrl, issuer), await startStack('baseline', pgUrl, issuer));
    for (let r = -1; r < ROUNDS; r++) {
      // Alternate which stack goes first, so neither always runs on a warmer (or busier) box.
      const order = r % 2 === 0 ? stacks : [...stacks].reverse();
      for (const stack of order) {
        const f = await round(stack, watchDb);
        if (r >= 0) results[stack.variant].push(f);
        console.log(`  round ${r < 0 ? 'warm-up' : r + 1} ${stack.variant.padEnd(9)} ${f.rps.toFixed(1).padStart(6)} checkouts/s   p50 ${f.p50.toFixed(0)} ms   p99 ${f.p99.toFixed(0)} ms   max ${f.max.toFixed(0)} ms`);
      }
    }
  } finally {
    await watchDb.close();
    for (const s of stacks) for (const p of [...s.procs].reverse()) await p.stop();
    await issuer?.proc.stop();
    const admin = createPool({ connectionString: pgUrl, name: 'bench-checkout-cleanup', max: 1, registry: new Registry(), log: silent });
    for (const schema of [...stacks.flatMap((s) => s.schemas), ...(issuer ? [issuer.schema] : [])]) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.close();
  }
  console.log(`checkout: ${N} checkouts per round, ${CONCURRENCY} concurrent clients, ${ROUNDS} rounds (medians; shared 2-core box, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
  for (const v of Object.keys(results) as Variant[]) {
    const f = results[v];
    console.log(`  ${v.padEnd(9)} ${median(f.map((x) => x.rps)).toFixed(1).padStart(6)} checkouts/s   p50 ${median(f.map((x) => x.p50)).toFixed(0)} ms   p99 ${median(f.map((x) => x.p99)).toFixed(0)} ms   max ${Math.max(...f.map((x) => x.max)).toFixed(0)} ms`);
  }
  const ratio = (pick: (f: Figures) => number) => median(results.protected.map((x, i) => pick(x) / pick(results.baseline[i]!))).toFixed(3);
  console.log(`  protected / baseline: throughput ${ratio((f) => f.rps)}×   p50 ${ratio((f) => f.p50)}×   p99 ${ratio((f) => f.p99)}×   (per-round median; the seed's bar: an order in under 2 s)`);
}
