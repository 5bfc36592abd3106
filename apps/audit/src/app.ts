/**
 * Builds the audit service without listening: the PostgreSQL pools (runtime
 * role for the log, owner for migrations and grants), the log key, the
 * Kafka consumer of security-relevant events (in an audited system context:
 * it writes every tenant's entries), the tree head signer and the read API.
 * `prepare()` migrates, grants the runtime role INSERT and SELECT only on
 * the log (UPDATE, DELETE and TRUNCATE revoked; triggers refuse them for
 * every role too), provisions the topics; `startWorkers()` starts the
 * signer and, in the background, the consumer.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { S3Client } from '@aws-sdk/client-s3';
import { Counter, Gauge } from 'prom-client';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, withSystemContext, type DbPool } from '@bulwark/db';
import { createConsumer, createKafka, ensureTopics, migrateProcessedEventStore, type EventConsumer } from '@bulwark/events';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { AuditConfig } from './config.ts';
import { auditedEventSchemas } from './domain/event-classes.ts';
import { auditHandlers } from './domain/record-event.ts';
import { loadSigner, signerFromPem, type LogSigner } from './domain/signing-key.ts';
import { createPeriodExporter, type PeriodExporter } from './domain/export-period.ts';
import { createRetentionSweeper, syncRetentionClasses, type RetentionSweeper } from './domain/retention.ts';
import { createTreeHeadSigner, type TreeHeadSigner } from './domain/tree-heads.ts';
import './errors.ts';
import { registerAuditRoutes } from './http/routes.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** The log's tables the runtime role may only append to and read. */
export const APPEND_ONLY_TABLES = ['entries', 'tree_heads', 'exports'] as const;

export interface AuditAppOptions {
  config: AuditConfig;
  logDestination?: DestinationStream;
}

export interface AuditApp {
  readonly service: Service<AuditConfig>;
  readonly pool: DbPool;
  readonly signer: LogSigner;
  readonly treeHeads: TreeHeadSigner;
  readonly consumer: EventConsumer | undefined;
  /** Settles once the consumer joined its group (at once without one). */
  readonly consumerStarted: Promise<void>;
  prepare(): Promise<void>;
  startWorkers(): void;
  start(): Promise<StartedService>;
}

export function createAuditApp(options: AuditAppOptions): AuditApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let consumer: EventConsumer | undefined;
  let consumerStarted: Promise<void> = Promise.resolve();
  let treeHeads!: TreeHeadSigner;
  let retention!: RetentionSweeper;
  let exporter: PeriodExporter | undefined;
  let consumerRunning!: Gauge;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (config.EVENTS_ENABLED && brokers.length === 0) throw new Error('KAFKA_BROKERS is required when EVENTS_ENABLED=true');
  const kafka = config.EVENTS_ENABLED ? createKafka({ brokers, clientId: 'audit' }) : undefined;
  const signer = config.AUDIT_SIGNING_KEY_PEM ? signerFromPem(config.AUDIT_SIGNING_KEY_PEM) : loadSigner(config.AUDIT_SIGNING_KEY_FILE, { create: config.AUDIT_SIGNING_KEY_CREATE });

  const service = createService({
    name: 'audit',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    redactPaths: ['AUDIT_SIGNING_KEY_PEM', '*.AUDIT_SIGNING_KEY_PEM', 'AUDIT_EXPORT_SECRET_KEY', '*.AUDIT_EXPORT_SECRET_KEY'],
    // Reads run as the tenant the gateway names in x-auth-tenant (row-level security on entries).
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'audit', max: config.DB_POOL_MAX, searchPath: [config.AUDIT_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'audit-owner', max: 1, statementTimeoutMs: 0, searchPath: [config.AUDIT_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      const appended = new Counter({ name: 'audit_entries_appended_total', help: 'Entries appended to the audit log.', registers: [kit.metrics] });
      const treeSize = new Gauge({ name: 'audit_tree_size', help: 'Size of the latest signed tree head.', registers: [kit.metrics] });
      const signedAt = new Gauge({ name: 'audit_tree_head_signed_timestamp_seconds', help: 'When this instance last saw a tree head signed (Unix seconds); alerts on staleness.', registers: [kit.metrics] });
      consumerRunning = new Gauge({ name: 'audit_event_consumer_running', help: '1 while the Kafka consumer of security events has joined its group and runs.', registers: [kit.metrics] });
      treeHeads = createTreeHeadSigner({
        pool,
        signer,
        intervalMs: config.AUDIT_TREE_HEAD_INTERVAL_MS,
        log: kit.log,
        onSigned: (h) => {
          treeSize.set(h.treeSize);
          signedAt.set(Date.now() / 1000);
        },
      });
      kit.addDependency({ name: 'tree-head-signer', check: async () => undefined, close: () => treeHeads.stop() });
      const redacted = new Counter({ name: 'audit_entries_redacted_total', help: 'Entries redacted after their class retention (body dropped, hashes kept).', registers: [kit.metrics] });
      retention = createRetentionSweeper({ owner: ownerPool, intervalMs: Math.max(1, config.AUDIT_RETENTION_SWEEP_MS), log: kit.log, onRedacted: (n) => redacted.inc(n) });
      kit.addDependency({ name: 'retention-sweeper', check: async () => undefined, close: () => retention.stop() });
      if (kafka) {
        const fast = config.AUDIT_FAST_CONSUMER ? { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 5_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100, lagIntervalMs: 0 } : {};
        const c = createConsumer({
          kafka,
          group: config.AUDIT_GROUP,
          topics: config.AUDIT_TOPICS,
          schemas: auditedEventSchemas,
          handlers: auditHandlers(signer, (n) => appended.inc(n)),
          pool,
          storeSchema: config.AUDIT_SCHEMA,
          registry: kit.metrics,
          log: kit.log,
          ...fast,
        });
        consumer = c;
        // Kafka away must not make the read API unready: events wait in their topics.
        kit.addDependency({ name: 'event-consumer', check: async () => undefined, close: () => c.stop() });
      }
      if (config.AUDIT_EXPORT_BUCKET) {
        const s3 = new S3Client({
          region: config.AUDIT_EXPORT_REGION,
          forcePathStyle: true,
          ...(config.AUDIT_EXPORT_S3_URL && { endpoint: config.AUDIT_EXPORT_S3_URL }),
          ...(config.AUDIT_EXPORT_ACCESS_KEY && config.AUDIT_EXPORT_SECRET_KEY && { credentials: { accessKeyId: config.AUDIT_EXPORT_ACCESS_KEY, secretAccessKey: config.AUDIT_EXPORT_SECRET_KEY } }),
        });
        const target = { s3, bucket: config.AUDIT_EXPORT_BUCKET, prefix: config.AUDIT_EXPORT_PREFIX, objectLock: config.AUDIT_EXPORT_OBJECT_LOCK };
        const e = createPeriodExporter({ pool, target, publicKeyPem: signer.publicKeyPem, intervalMs: config.AUDIT_EXPORT_INTERVAL_MS, log: kit.log });
        exporter = e;
        kit.addDependency({ name: 'period-exporter', check: async () => undefined, close: async () => { await e.stop(); s3.destroy(); } });
      }
      registerAuditRoutes(r, { pool, readerRoles: config.AUDIT_READER_ROLES, publicKeyPem: signer.publicKeyPem, keyId: signer.keyId });
    },
  });

  // DDL as the owner; the runtime role is checked (RLS binds it), given the data, then denied every change to the log.
  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.AUDIT_SCHEMA, phase: 'all' });
    await migrateProcessedEventStore({ pool: ownerPool, schema: config.AUDIT_SCHEMA });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.AUDIT_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    await syncRetentionClasses(ownerPool);
    const tables = APPEND_ONLY_TABLES.map((t) => `"${config.AUDIT_SCHEMA}"."${t}"`).join(', ');
    await ownerPool.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${tables} FROM "${runtimeRole}"`);
    if (kafka) await ensureTopics(kafka, config.AUDIT_TOPICS.map((name) => ({ name, partitions: 6, retentionMs: 7 * 86_400_000 })));
  }

  function startWorkers(): void {
    treeHeads.start();
    if (config.AUDIT_RETENTION_SWEEP_MS > 0) retention.start();
    exporter?.start();
    const c = consumer;
    if (!c) return;
    // Not awaited: a join after a crash waits out the dead member's session; reads need not wait.
    consumerStarted = withSystemContext(pool, 'audit.events', () => c.start()).then(
      () => void consumerRunning.set(1),
      (err: unknown) => {
        service.log.error({ err, group: config.AUDIT_GROUP }, 'audit event consumer failed to start');
        throw err;
      },
    );
    consumerStarted.catch(() => undefined);
  }

  return {
    service,
    get pool() {
      return pool;
    },
    signer,
    get treeHeads() {
      return treeHeads;
    },
    get consumer() {
      return consumer;
    },
    get consumerStarted() {
      return consumerStarted;
    },
    prepare,
    startWorkers,
    async start() {
      const started = await service.start({ prepare: async () => {
        await prepare();
        startWorkers();
      } });
      return started;
    },
  };
}
