/**
 * Builds the payments service without listening: the PostgreSQL pool, the
 * PSP client (opossum breaker), the payment and webhook routes, and the
 * outbox relay with its Kafka producer, registered as kit dependencies so
 * shutdown stops the relay, closes the producer and the breaker, then the
 * pool. `start()` migrates the schema, provisions the topic, starts the
 * relay and the orphan authorization reconciler, then listens.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, grantSchemaAccess, migrate, gatewayTenantScope, withSystemContext, type DbPool } from '@bulwark/db';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type OutboxRelay } from '@bulwark/events';
import { createIdempotency, createTransactionOnly, migrateIdempotency } from '@bulwark/idempotency';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createTokenVerifier } from '@bulwark/service-kit/service-auth';
import type { PaymentsConfig } from './config.ts';
import { registerPaymentRoutes } from './http/payment-routes.ts';
import { registerWebhookRoutes } from './http/webhook-routes.ts';
import { createPaymentsMetrics } from './metrics.ts';
import { PAYMENT_EVENTS, paymentEventSchemas } from './domain/payment-events.ts';
import { createPspClient, type PspClient } from './clients/psp.ts';
import { createOrphanReconciler, type OrphanReconciler } from './domain/orphan-authorizations.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface PaymentsAppOptions {
  config: PaymentsConfig;
  logDestination?: DestinationStream;
}

export interface PaymentsApp {
  readonly service: Service<PaymentsConfig>;
  readonly pool: DbPool;
  readonly psp: PspClient;
  /** The outbox relay when EVENTS_ENABLED. */
  readonly relay: OutboxRelay | undefined;
  /** Voids PSP authorizations no payment owns; `start()` runs it every ORPHAN_RECONCILE_INTERVAL_MS unless 0. */
  readonly orphans: OrphanReconciler;
  /** Starts the background loops (outbox relay, orphan reconciler); `start()` calls it. */
  startWorkers(): void;
  /** Schema, migrations and topic; idempotent, safe from every replica. */
  prepare(): Promise<void>;
  start(): Promise<StartedService>;
}

export function createPaymentsApp(options: PaymentsAppOptions): PaymentsApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let psp!: PspClient;
  let relay: OutboxRelay | undefined;
  let orphans!: OrphanReconciler;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (config.EVENTS_ENABLED && brokers.length === 0) throw new Error('KAFKA_BROKERS is required when EVENTS_ENABLED=true');
  const kafka = config.EVENTS_ENABLED ? createKafka({ brokers, clientId: 'payments-outbox' }) : undefined;
  const service = createService({
    name: 'payments',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    redactPaths: ['req.headers["bulwark-signature"]'],
    // Every route runs as the tenant the gateway (or the orders saga) names in x-auth-tenant; none: tenant tables
    // fail closed. The PSP's webhooks carry none: they find their payment's tenant themselves (webhook-routes.ts).
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'payments', max: config.DB_POOL_MAX, searchPath: [config.PAYMENTS_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'payments-owner', max: 1, statementTimeoutMs: 0, searchPath: [config.PAYMENTS_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      psp = createPspClient({
        baseUrl: config.PSP_URL.replace(/\/$/, ''),
        timeoutMs: config.PSP_TIMEOUT_MS,
        breaker: { errorThresholdPercentage: config.PSP_BREAKER_ERROR_PERCENT, volumeThreshold: config.PSP_BREAKER_VOLUME, resetTimeoutMs: config.PSP_BREAKER_RESET_MS },
        breakerEnabled: config.PSP_BREAKER_ENABLED,
        log: kit.log,
        registry: kit.metrics,
      });
      // The PSP being away must not make payments unready (reads and webhooks still work; the breaker answers 503 fast).
      kit.addDependency({ name: 'psp-breaker', check: async () => undefined, close: async () => psp.close() });
      if (kafka) {
        const producer = createProducer({ kafka, schemas: paymentEventSchemas, source: '/bulwark/payments', registry: kit.metrics, log: kit.log });
        const r = createOutboxRelay({ pool, producer, topic: config.PAYMENTS_TOPIC, table: 'payment_events_outbox', events: PAYMENT_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log: kit.log });
        relay = r;
        // Kafka being away must not make payments unready: events wait in the outbox. Close is bounded for the same reason.
        kit.addDependency({
          name: 'outbox-relay',
          check: async () => {
            if (!r.running) throw new Error('the outbox relay is not running');
          },
          close: async () => {
            await r.stop();
            await Promise.race([producer.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
          },
        });
      }
      const idempotency = createIdempotency({
        pool,
        scope: 'payments',
        ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
        concurrent: 'wait',
        waitTimeoutMs: config.IDEMPOTENCY_WAIT_MS,
        onError: (err, context) => kit.log.error({ err, scope: context.scope, stage: context.stage }, 'idempotency store error'),
      });
      // Expired keys go every minute; safe from every replica.
      const sweeper = setInterval(() => void idempotency.sweep().catch((err: unknown) => kit.log.warn({ err }, 'idempotency sweep failed')), 60_000);
      sweeper.unref();
      kit.addDependency({ name: 'idempotency-sweeper', check: async () => undefined, close: async () => clearInterval(sweeper) });
      if (config.PSP_WEBHOOK_SECRETS.length === 0) kit.log.warn('PSP_WEBHOOK_SECRETS is not set: every PSP webhook will be refused (401)');
      const metrics = createPaymentsMetrics(kit.metrics);
      orphans = createOrphanReconciler({
        pool,
        psp,
        lockName: `payments.orphan-authorizations:${config.PAYMENTS_SCHEMA}`,
        graceMs: config.ORPHAN_GRACE_MS,
        batchSize: config.ORPHAN_BATCH_SIZE,
        intervalMs: config.ORPHAN_RECONCILE_INTERVAL_MS,
        log: kit.log,
        voided: metrics.orphanVoided,
        passes: metrics.orphanPasses,
      });
      // Before psp-breaker and postgres in the list: dependencies close in reverse order, so the pass stops first.
      kit.addDependency({ name: 'orphan-reconciler', check: async () => undefined, close: () => orphans.stop() });
      if (!config.IDEMPOTENCY_ENABLED) kit.log.warn('IDEMPOTENCY_ENABLED=false: Idempotency-Keys are not stored or replayed (benchmark baseline only)');
      if (!config.PSP_BREAKER_ENABLED) kit.log.warn('PSP_BREAKER_ENABLED=false: PSP calls have no circuit breaker (benchmark baseline only)');
      const protect = config.IDEMPOTENCY_ENABLED ? idempotency.middleware : createTransactionOnly({ pool, onError: (err, stage) => kit.log.error({ err, stage }, 'request transaction failed') });
      registerPaymentRoutes(r, { pool, psp, forwardSimulate: config.PSP_FORWARD_SIMULATE_HEADER, metrics, idempotency: protect, serviceTokens: createTokenVerifier({ jwksUrl: config.JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }), internalClients: config.INTERNAL_CLIENTS });
      registerWebhookRoutes(r, { pool, secrets: () => config.PSP_WEBHOOK_SECRETS, toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS, metrics });
    },
  });

  // DDL as the owner; then the runtime role is checked (RLS must bind it) and given the data, not the DDL.
  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.PAYMENTS_SCHEMA, phase: 'all' });
    await migrateIdempotency({ pool: ownerPool, schema: config.PAYMENTS_SCHEMA });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.PAYMENTS_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    if (kafka) {
      await ensureTopics(kafka, [{ name: config.PAYMENTS_TOPIC, partitions: config.PAYMENTS_TOPIC_PARTITIONS, retentionMs: 7 * 86_400_000 }]);
    }
  }

  function startWorkers(): void {
    // The relay's loop publishes every tenant's outbox rows: it runs in the system context it starts in.
    const r = relay;
    if (r) void withSystemContext(pool, 'payments.outbox-relay', async () => r.start());
    if (config.ORPHAN_RECONCILE_INTERVAL_MS > 0) orphans.start();
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get psp() {
      return psp;
    },
    get relay() {
      return relay;
    },
    get orphans() {
      return orphans;
    },
    prepare,
    startWorkers,
    async start() {
      await prepare();
      startWorkers();
      return service.start();
    },
  };
}
