/**
 * Builds the files service without listening: the PostgreSQL pools, the S3
 * storage, the clamd client, the routes, the scanner and the outbox relay
 * (when EVENTS_ENABLED), registered as kit dependencies so that shutdown
 * stops the scanner and the relay before the pool closes. `prepare()`
 * migrates, creates the buckets and provisions the topic; `startWorkers()`
 * starts the scanner and the relay.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, withSystemContext, type DbPool } from '@bulwark/db';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type OutboxRelay } from '@bulwark/events';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createClamdClient } from './clients/clamd.ts';
import { createStorage, type Storage } from './clients/storage.ts';
import type { FilesConfig } from './config.ts';
import { FILES_EVENTS, filesEventSchemas } from './domain/files-events.ts';
import { createScanner, type Scanner } from './domain/scanner.ts';
import './errors.ts';
import { registerRoutes } from './http/routes.ts';
import { createFilesMetrics } from './metrics.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface FilesAppOptions {
  config: FilesConfig;
  logDestination?: DestinationStream;
}

export interface FilesApp {
  readonly service: Service<FilesConfig>;
  readonly pool: DbPool;
  readonly storage: Storage;
  readonly scanner: Scanner;
  readonly relay: OutboxRelay | undefined;
  prepare(): Promise<void>;
  startWorkers(): void;
  start(): Promise<StartedService>;
}

export function createFilesApp(options: FilesAppOptions): FilesApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let scanner!: Scanner;
  let relay: OutboxRelay | undefined;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (config.EVENTS_ENABLED && brokers.length === 0) throw new Error('KAFKA_BROKERS is required when EVENTS_ENABLED=true');
  const kafka = config.EVENTS_ENABLED ? createKafka({ brokers, clientId: 'files-outbox' }) : undefined;
  const storage = createStorage({
    endpoint: config.S3_URL,
    publicEndpoint: config.S3_PUBLIC_URL,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY,
    secretAccessKey: config.S3_SECRET_KEY,
    quarantineBucket: config.QUARANTINE_BUCKET,
    cleanBucket: config.CLEAN_BUCKET,
  });
  const clamd = createClamdClient({ host: config.CLAMD_HOST, port: config.CLAMD_PORT, timeoutMs: config.CLAMD_TIMEOUT_MS });

  const service = createService({
    name: 'files',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // Every route runs as the tenant the gateway names in x-auth-tenant (row-level security, migrations/0001).
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'files', max: config.DB_POOL_MAX, searchPath: [config.FILES_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'files-owner', max: 1, statementTimeoutMs: 0, searchPath: [config.FILES_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      // Storage or clamd away must not make the API unready: reads and quotas still work, uploads wait in quarantine.
      kit.addDependency({ name: 's3', check: async () => undefined, close: async () => storage.close() });
      const metrics = createFilesMetrics(kit.metrics);
      scanner = createScanner({
        pool,
        storage,
        clamd,
        log: kit.log,
        batch: config.SCAN_BATCH,
        intervalMs: config.SCAN_INTERVAL_MS,
        leaseSeconds: config.SCAN_LEASE_SECONDS,
        retry: { baseMs: config.SCAN_RETRY_BASE_MS, capMs: config.SCAN_RETRY_CAP_MS },
        onVerdict: (outcome) => metrics.scans.inc({ outcome }),
      });
      const s = scanner;
      kit.addDependency({
        name: 'scanner',
        async check() {
          if (config.SCANNER_ENABLED && !s.running) throw new Error('the scanner is not running');
        },
        close: () => s.stop(),
      });
      if (kafka) {
        const producer = createProducer({ kafka, schemas: filesEventSchemas, source: '/bulwark/files', registry: kit.metrics, log: kit.log });
        const rl = createOutboxRelay({ pool, producer, topic: config.FILES_TOPIC, table: 'files_events_outbox', keyColumn: 'file_id', events: FILES_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log: kit.log });
        relay = rl;
        kit.addDependency({
          name: 'outbox-relay',
          async check() {
            if (!rl.running) throw new Error('the outbox relay is not running');
          },
          async close() {
            await rl.stop();
            await Promise.race([producer.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
          },
        });
      }
      registerRoutes(r, {
        pool,
        storage,
        policy: {
          allowedTypes: config.ALLOWED_TYPES.map((t) => t.toLowerCase()),
          maxBytes: config.MAX_FILE_BYTES,
          quotaBytes: config.TENANT_QUOTA_BYTES,
          partBytes: config.MULTIPART_PART_BYTES,
          uploadTtlSeconds: config.UPLOAD_URL_TTL_SECONDS,
          downloadTtlSeconds: config.DOWNLOAD_URL_TTL_SECONDS,
        },
      });
    },
  });

  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.FILES_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.FILES_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    // Storage away at start must not keep the API down: reads answer from PostgreSQL, and the scanner's attempts
    // (and uploads) fail and retry until it returns. The buckets are made on the next start, or by the operator.
    await storage.ensureBuckets().catch((err: unknown) => service.log.warn({ err }, 'object storage unreachable at start; buckets not checked'));
    if (kafka) await ensureTopics(kafka, [{ name: config.FILES_TOPIC, partitions: config.FILES_TOPIC_PARTITIONS, retentionMs: 7 * 86_400_000 }]);
  }

  function startWorkers(): void {
    if (config.SCANNER_ENABLED) scanner.start();
    const rl = relay;
    if (rl) void withSystemContext(pool, 'files.outbox-relay', async () => rl.start());
  }

  return {
    service,
    storage,
    startWorkers,
    prepare,
    get pool() {
      return pool;
    },
    get scanner() {
      return scanner;
    },
    get relay() {
      return relay;
    },
    async start() {
      await prepare();
      startWorkers();
      return service.start();
    },
  };
}
