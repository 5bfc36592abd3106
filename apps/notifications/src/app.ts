/**
 * Builds the notifications service without listening: the PostgreSQL pool,
 * the BullMQ queues and workers of webhook deliveries and of email/SMS
 * messages (per-provider limits), the dispatcher that enqueues pending rows,
 * the providers, and the Kafka consumer of domain events — all registered as
 * kit dependencies, so shutdown stops the consumer, the dispatcher and the
 * workers (in-flight jobs finish or are handed back), then closes the queues
 * and the pool. `start()` listens (liveness answers at once), migrates,
 * starts the workers, then is ready; the Kafka consumer joins its group in
 * the background (a join waits out a
 * crashed predecessor's session, ~30 s, which the HTTP API need not wait
 * for), shown by `notifications_event_consumer_running`.
 * Row-level security (migrations/0005): the pool connects as the runtime
 * role, DDL and grants go through the owner's pool; each API request runs as
 * the tenant of its /v1/tenants/{tenantId} path, the workers as the tenant
 * of their row, and work across tenants (dispatcher, retention, the Kafka
 * consumer, provider webhooks' lookup) in audited system contexts.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, grantSchemaAccess, migrate, withSystemContext, withTenant, type DbPool } from '@bulwark/db';
import { createConsumer, createKafka, migrateProcessedEventStore, ensureTopics, retryPolicy, type EventConsumer } from '@bulwark/events';
import { JobMetrics, JobQueue, JobWorker, type QueueDefinition } from '@bulwark/jobs';
import { Gauge } from 'prom-client';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createClientCredentialsProvider } from '@bulwark/service-kit/service-auth';
import { createIdentityAccounts } from './clients/identity-accounts.ts';
import type { NotificationsConfig } from './config.ts';
import { createWebhookHandler } from './domain/deliver-webhook.ts';
import { domainEventHandlers, domainEventSchemas } from './domain/domain-events.ts';
import { createDispatcher, type DeliveryJob, type Dispatcher, type MessageJob } from './domain/dispatcher.ts';
import { createEventRetention, type EventRetention } from './domain/event-retention.ts';
import { lookUpConfirmationContact, queueOrderConfirmation, type ConfirmationContact } from './domain/order-confirmation-mail.ts';
import { createMessageHandler } from './domain/send-message.ts';
import { createTemplateCatalog } from './domain/template-catalog.ts';
import { registerMessageRoutes } from './http/message-routes.ts';
import { pathTenant } from './http/path-tenant.ts';
import { registerWebhookRoutes } from './http/webhook-routes.ts';
import { createNotificationsMetrics } from './metrics.ts';
import type { MessageProvider } from './providers/provider.ts';
import { createProviderHealth, type ProviderHealth } from './providers/provider-health.ts';
import { createSmsSimulator, type SmsSimulator } from './providers/sms-simulator.ts';
import { createSmtpProvider } from './providers/smtp-provider.ts';
import type { TemplateRegistry } from './templates.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface NotificationsAppOptions {
  config: NotificationsConfig;
  logDestination?: DestinationStream;
  /** Replace the message providers (tests); default SMTP (nodemailer) and the SMS simulator. */
  providers?: MessageProvider[];
}

export interface NotificationsApp {
  readonly service: Service<NotificationsConfig>;
  readonly pool: DbPool;
  readonly webhookQueue: JobQueue<DeliveryJob>;
  readonly messageQueue: JobQueue<MessageJob>;
  readonly dispatcher: Dispatcher;
  /** Deletes events past EVENTS_RETENTION_HOURS. */
  readonly retention: EventRetention;
  readonly templates: TemplateRegistry;
  /** The Kafka consumer of domain events when EVENTS_ENABLED. */
  readonly consumer: EventConsumer | undefined;
  /** Settles when the consumer has joined its group and runs (at once without one); rejects when its start failed. */
  readonly consumerStarted: Promise<void>;
  /** The SMS simulator when it is the SMS provider. */
  readonly sms: SmsSimulator | undefined;
  /** Schema and migrations; idempotent, safe from every replica. */
  prepare(): Promise<void>;
  /** Starts the workers, the dispatcher and the event retention; starts the consumer (when enabled) without waiting for its group join. */
  startWorkers(): Promise<void>;
  /** Listens, then prepare() and startWorkers(): /healthz answers at once, /readyz (and the API) once both have run. */
  start(): Promise<StartedService>;
  /** prepare() then startWorkers(): what the service does between listening and ready (start(), main.ts). */
  startup(): Promise<void>;
}

export function webhookQueueDefinition(config: NotificationsConfig): QueueDefinition {
  return { name: 'notifications-webhooks', attempts: config.WEBHOOK_MAX_ATTEMPTS, backoff: { baseMs: config.WEBHOOK_BACKOFF_BASE_MS, capMs: Math.max(config.WEBHOOK_BACKOFF_BASE_MS, config.WEBHOOK_BACKOFF_CAP_MS) } };
}

export function messageQueueDefinition(config: NotificationsConfig): QueueDefinition {
  return {
    name: 'notifications-messages',
    attempts: config.MESSAGE_MAX_ATTEMPTS,
    backoff: { baseMs: config.WEBHOOK_BACKOFF_BASE_MS, capMs: Math.max(config.WEBHOOK_BACKOFF_BASE_MS, Math.min(config.WEBHOOK_BACKOFF_CAP_MS, 600_000)) },
    providers: { smtp: { max: config.EMAIL_RATE_PER_SECOND, durationMs: 1_000 }, sms: { max: config.SMS_RATE_PER_SECOND, durationMs: 1_000 } },
  };
}

export function createNotificationsApp(options: NotificationsAppOptions): NotificationsApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let webhookQueue!: JobQueue<DeliveryJob>;
  let messageQueue!: JobQueue<MessageJob>;
  let dispatcher!: Dispatcher;
  let consumer: EventConsumer | undefined;
  let consumerStarted: Promise<void> = Promise.resolve();
  let retention!: EventRetention;
  let providerHealth!: ProviderHealth;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (config.EVENTS_ENABLED && brokers.length === 0) throw new Error('KAFKA_BROKERS is required when EVENTS_ENABLED=true');
  const kafka = config.EVENTS_ENABLED ? createKafka({ brokers, clientId: 'notifications' }) : undefined;
  const workers: JobWorker<never>[] = [];
  let startWorkersImpl!: () => Promise<void>;
  const templates = createTemplateCatalog('en');
  const sms = options.providers ? undefined : createSmsSimulator();
  const providers = new Map<string, MessageProvider>(
    (
      options.providers ?? [
        createSmtpProvider({
          host: config.SMTP_HOST,
          port: config.SMTP_PORT,
          secure: config.SMTP_SECURE,
          ignoreTLS: config.SMTP_IGNORE_TLS,
          user: config.SMTP_USER,
          password: config.SMTP_PASSWORD,
          from: config.EMAIL_FROM,
        }),
        sms!,
      ]
    ).map((p) => [p.name, p]),
  );
  const providerFor = (channel: 'email' | 'sms'): string => {
    const p = [...providers.values()].find((x) => x.channel === channel);
    if (!p) throw new Error(`no ${channel} provider configured`);
    return p.name;
  };
  const connection = { url: config.REDIS_URL, maxRetriesPerRequest: null };
  const ssrf = { allowLoopback: config.SSRF_ALLOW_LOOPBACK, allowPrivate: config.SSRF_ALLOW_PRIVATE };

  const service = createService({
    name: 'notifications',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    redactPaths: ['req.headers["bulwark-signature"]', 'secret', '*.secret', 'clientSecret', '*.clientSecret'],
    // Tenant routes run as the tenant their path names (the gateway puts the token's tenant there); a path that
    // names none (providers, suppressions) or a malformed one runs without a tenant: tenant tables fail closed,
    // and the route's own validation answers the malformed one (400).
    requestScope: (req, run) => {
      const tenant = pathTenant((req as { originalUrl?: string }).originalUrl ?? req.url);
      return tenant === undefined ? run() : withTenant(tenant, run);
    },
    requestScopeErrors: ['DB_TENANT_REQUIRED'],
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'notifications', max: config.DB_POOL_MAX, searchPath: [config.NOTIFICATIONS_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'notifications-owner', max: 1, statementTimeoutMs: 0, searchPath: [config.NOTIFICATIONS_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      const metrics = createNotificationsMetrics(kit.metrics);
      const consumerRunning = new Gauge({ name: 'notifications_event_consumer_running', help: '1 while the Kafka consumer of domain events has joined its group and runs; 0 while it joins, after its start failed, or when stopped.', registers: [kit.metrics] });
      providerHealth = createProviderHealth({ providers: [...providers.values()], registry: kit.metrics, intervalMs: config.PROVIDER_CHECK_INTERVAL_MS, timeoutMs: 10_000, log: kit.log });
      for (const p of providers.values()) {
        // Shown under /readyz `degraded` while down, without taking the webhook API out of service.
        kit.addDependency({
          name: `provider-${p.name}`,
          gatesReadiness: false,
          check: async () => {
            const status = providerHealth.latest().find((s) => s.name === p.name);
            if (status && !status.up) throw new Error(status.error ?? 'down');
          },
        });
      }
      retention = createEventRetention({ pool, retentionMs: config.EVENTS_RETENTION_HOURS * 3_600_000, intervalMs: config.EVENTS_RETENTION_SWEEP_MS, log: kit.log });
      const jobMetrics = new JobMetrics(kit.metrics);
      const jobs = { connection, prefix: config.JOBS_PREFIX, metrics: jobMetrics };
      webhookQueue = new JobQueue<DeliveryJob>(webhookQueueDefinition(config), jobs);
      messageQueue = new JobQueue<MessageJob>(messageQueueDefinition(config), jobs);
      kit.addDependency({
        name: 'redis',
        check: async () => void (await webhookQueue.waitingCount()),
        close: async () => {
          await Promise.all([webhookQueue.close(), messageQueue.close()]);
          await Promise.all([...providers.values()].map((p) => p.close()));
        },
      });
      dispatcher = createDispatcher({ pool, webhooks: webhookQueue, messages: messageQueue, intervalMs: config.DISPATCH_INTERVAL_MS, staleMs: config.DISPATCH_STALE_MS, log: kit.log, metrics });
      const workerOptions = {
        connection,
        prefix: config.JOBS_PREFIX,
        metrics: jobMetrics,
        lockDurationMs: config.WORKER_LOCK_MS,
        stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
        shutdownDeadlineMs: config.WORKER_SHUTDOWN_DEADLINE_MS,
        autorun: false,
        onError: (err: Error) => kit.log.warn({ err }, 'job worker error'),
      };
      startWorkersImpl = async () => {
        providerHealth.start();
        if (!config.WORKER_ENABLED || workers.length > 0) return;
        const webhookHandler = createWebhookHandler({
          pool,
          health: { openAfter: config.ENDPOINT_BREAKER_OPEN_AFTER, coolDownMs: config.ENDPOINT_BREAKER_COOLDOWN_MS, disableAfter: config.ENDPOINT_DISABLE_AFTER },
          maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
          horizonMs: config.WEBHOOK_RETRY_HORIZON_HOURS * 3_600_000,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          maxPayloadBytes: config.WEBHOOK_MAX_PAYLOAD_BYTES,
          ssrf,
          log: kit.log,
          metrics,
          dispatch: () => dispatcher.poke(),
          release: (endpointId) => dispatcher.release(endpointId),
        });
        const w1 = new JobWorker<DeliveryJob>(webhookQueue.definition, webhookHandler, { ...workerOptions, concurrency: config.WORKER_CONCURRENCY, onDeadLetter: (dl) => dispatcher.deliveryDeadLettered(dl) });
        const w2 = new JobWorker<MessageJob>(messageQueue.definition, createMessageHandler({ pool, providers, maxAttempts: config.MESSAGE_MAX_ATTEMPTS, log: kit.log, metrics }), {
          ...workerOptions,
          concurrency: Math.max(1, Math.min(config.WORKER_CONCURRENCY, 16)),
          onDeadLetter: (dl) => dispatcher.messageDeadLettered(dl),
        });
        workers.push(w1 as JobWorker<never>, w2 as JobWorker<never>);
        await Promise.all([w1.start(), w2.start()]);
        dispatcher.start();
        retention.start();
        if (consumer) {
          // Not awaited: after a crash the join waits for the dead member's session to expire (~30 s); HTTP and deliveries need not.
          // Its transactions write for two tenants at once (the fan-out to EVENTS_TENANT, the customer's
          // confirmation mail), naming each row's tenant: the system context it starts in.
          const c = consumer;
          consumerStarted = withSystemContext(pool, 'notifications.domain-events', () => c.start()).then(
            () => {
              consumerRunning.set(1);
              kit.log.info({ group: config.EVENTS_GROUP }, 'event consumer joined its group');
            },
            (err: unknown) => {
              kit.log.error({ err, group: config.EVENTS_GROUP }, 'event consumer failed to start');
              throw err;
            },
          );
          consumerStarted.catch(() => undefined); // observed by main.ts (exits) and by consumerStarted's readers
        }
      };
      if (kafka) {
        const eventRetry = retryPolicy();
        // The order confirmation mail needs identity (the customer's address): with its URL and our client secret.
        const accounts =
          config.IDENTITY_URL && config.IDENTITY_CLIENT_SECRET
            ? createIdentityAccounts({
                baseUrl: config.IDENTITY_URL,
                timeoutMs: config.IDENTITY_TIMEOUT_MS,
                log: kit.log,
                tokens: createClientCredentialsProvider({
                  tokenUrl: `${config.IDENTITY_URL.replace(/\/+$/, '')}/oidc/token`,
                  clientId: config.IDENTITY_CLIENT_ID,
                  clientSecret: config.IDENTITY_CLIENT_SECRET,
                  timeoutMs: config.IDENTITY_TIMEOUT_MS,
                  onFetch: (outcome) => metrics.serviceTokens.inc({ outcome }),
                }),
              })
            : undefined;
        if (!accounts) kit.log.warn('IDENTITY_URL and IDENTITY_CLIENT_SECRET are not set: no order confirmation mails');
        else kit.addDependency({ name: 'identity-client', check: async () => undefined, close: async () => accounts.close() });
        const mailDeps = accounts && { accounts, templates, providerFor, maxAttempts: eventRetry.maxAttempts };
        consumer = createConsumer({
          kafka,
          group: config.EVENTS_GROUP,
          topics: config.EVENTS_TOPICS,
          schemas: domainEventSchemas,
          pool,
          storeSchema: config.NOTIFICATIONS_SCHEMA,
          registry: kit.metrics,
          log: kit.log,
          retry: eventRetry,
          handlers: domainEventHandlers({
            tenantId: config.EVENTS_TENANT,
            maxPayloadBytes: config.WEBHOOK_MAX_PAYLOAD_BYTES,
            onFanOut: (type, deliveries) => {
              metrics.domainEvents.inc({ type });
              // The handler's transaction commits right after it returns; dispatch then (the poll covers a miss).
              if (deliveries > 0) setTimeout(() => dispatcher.poke(), 20).unref();
            },
            ...(mailDeps && {
              confirmationMail: {
                // The lookup at identity runs before the consumer's transaction opens: no transaction waits on it.
                prepare: (event, ctx) =>
                  lookUpConfirmationContact(mailDeps, event, ctx).catch((err: unknown) => {
                    metrics.confirmationMails.inc({ outcome: 'lookup_retried' });
                    throw err;
                  }),
                async queue(event, ctx, contact) {
                  const outcome = await queueOrderConfirmation(mailDeps, event, ctx, contact as ConfirmationContact);
                  metrics.confirmationMails.inc({ outcome });
                  if (outcome === 'queued') setTimeout(() => dispatcher.poke(), 20).unref();
                },
              },
            }),
          }),
        });
      }
      kit.addDependency({
        name: 'workers',
        check: async () => undefined,
        close: async () => {
          // Kafka first: no new fan-out while the dispatcher and the workers wind down. Bounded: Kafka may be away.
          if (consumer) await Promise.race([consumer.stop(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
          consumerRunning.set(0);
          providerHealth.stop();
          await dispatcher.stop();
          await retention.stop();
          const results = await Promise.all(workers.map((w) => w.stop()));
          const handedBack = results.flatMap((r) => r.handedBack);
          if (handedBack.length > 0) kit.log.warn({ handedBack }, 'jobs handed back to wait at shutdown');
        },
      });
      registerWebhookRoutes(r, {
        pool,
        ssrf,
        rotationGraceSeconds: config.WEBHOOK_ROTATION_GRACE_SECONDS,
        maxPayloadBytes: config.WEBHOOK_MAX_PAYLOAD_BYTES,
        eventRetentionMs: config.EVENTS_RETENTION_HOURS * 3_600_000,
        dispatch: () => dispatcher.poke(),
      });
      registerMessageRoutes(r, {
        pool,
        templates,
        providerFor,
        providerSecrets: () => config.PROVIDER_WEBHOOK_SECRETS,
        toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
        metrics,
        providerHealth,
        dispatch: () => dispatcher.poke(),
      });
      if (config.PROVIDER_WEBHOOK_SECRETS.length === 0) kit.log.warn('PROVIDER_WEBHOOK_SECRETS is not set: every provider webhook will be refused (401)');
    },
  });

  // DDL as the owner; then the runtime role is checked (RLS must bind it) and given the data, not the DDL.
  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.NOTIFICATIONS_SCHEMA, phase: 'all' });
    if (kafka) await migrateProcessedEventStore({ pool: ownerPool, schema: config.NOTIFICATIONS_SCHEMA });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.NOTIFICATIONS_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    if (kafka) {
      // The producers own these topics; creating missing ones (their defaults) only makes the start order free.
      await ensureTopics(kafka, config.EVENTS_TOPICS.map((name) => ({ name, partitions: 6, retentionMs: 7 * 86_400_000 })));
    }
  }

  async function startup(): Promise<void> {
    await prepare();
    await startWorkersImpl();
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get webhookQueue() {
      return webhookQueue;
    },
    get messageQueue() {
      return messageQueue;
    },
    get dispatcher() {
      return dispatcher;
    },
    get retention() {
      return retention;
    },
    get consumer() {
      return consumer;
    },
    get consumerStarted() {
      return consumerStarted;
    },
    templates,
    sms,
    prepare,
    startWorkers: () => startWorkersImpl(),
    startup,
    start: () => service.start({ prepare: startup }),
  };
}
