/**
 * Test helpers: the real files service on port 0 against the PostgreSQL,
 * Kafka, S3 server (versitygw) and clamd of scripts/infra, each test in its
 * own schema and its own pair of buckets (random suffix), removed at
 * cleanup. `call` carries TEST_TENANT and a subject as the gateway would.
 */
import { randomUUID } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { call as plainCall, kafkaBrokers, pgUrl, runtimeDbUrl, sessionDbUrl, silent, suffix, TEST_TENANT, type Reply } from '@bulwark/test-support';
import { ensureInfra } from '../../../scripts/infra/index.ts';
import { createFilesApp, type FilesApp } from '../src/app.ts';
import { filesConfigSchema } from '../src/config.ts';

export type { Reply } from '@bulwark/test-support';
export { EICAR } from '../../../scripts/infra/clamd.ts';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

/** The S3 server and clamd of scripts/infra (started when missing; the first start on a machine builds versitygw). */
export async function objectInfra(): Promise<Record<string, string>> {
  return ensureInfra(['s3', 'clamd']);
}

export const USER = 'user-1';

/** A call as `sub` of `tenant`, as the gateway forwards it. */
export function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return plainCall(url, method, path, body, { 'x-auth-tenant': TEST_TENANT, 'x-auth-sub': USER, ...headers });
}

export interface TestFiles {
  schema: string;
  buckets: { quarantine: string; clean: string };
  db: DbPool;
  s3: S3Client;
  env(extra?: Record<string, string>): Record<string, string>;
  start(env?: Record<string, string>): Promise<{ app: FilesApp; url: string }>;
  cleanup(): Promise<void>;
}

export async function setupFiles(): Promise<TestFiles> {
  const infra = await objectInfra();
  const id = suffix();
  const schema = `files_${id}`;
  const buckets = { quarantine: `fq-${id}`.replaceAll('_', '-').toLowerCase(), clean: `fc-${id}`.replaceAll('_', '-').toLowerCase() };
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `files_test_${id}`, max: 4, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const s3 = new S3Client({ endpoint: infra.BULWARK_S3_URL, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: infra.BULWARK_S3_ACCESS_KEY!, secretAccessKey: infra.BULWARK_S3_SECRET_KEY! } });
  const apps: FilesApp[] = [];
  const envOf = (env: Record<string, string> = {}): Record<string, string> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    FILES_SCHEMA: schema,
    S3_URL: infra.BULWARK_S3_URL!,
    S3_ACCESS_KEY: infra.BULWARK_S3_ACCESS_KEY!,
    S3_SECRET_KEY: infra.BULWARK_S3_SECRET_KEY!,
    QUARANTINE_BUCKET: buckets.quarantine,
    CLEAN_BUCKET: buckets.clean,
    CLAMD_HOST: infra.BULWARK_CLAMD_HOST!,
    CLAMD_PORT: infra.BULWARK_CLAMD_PORT!,
    CLAMD_TIMEOUT_MS: '5000',
    SCAN_INTERVAL_MS: '50',
    SCAN_RETRY_BASE_MS: '50',
    SCAN_RETRY_CAP_MS: '300',
    EVENTS_ENABLED: 'false',
    KAFKA_BROKERS: kafkaBrokers().join(','),
    FILES_TOPIC: `files-${id}`,
    FILES_TOPIC_PARTITIONS: '1',
    OUTBOX_POLL_MS: '50',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...env,
  });
  async function emptyBucket(bucket: string): Promise<void> {
    try {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    } catch {
      // never created, or the server is one a test stopped
    }
  }
  return {
    schema,
    buckets,
    db,
    s3,
    env: envOf,
    async start(env) {
      const app = createFilesApp({ config: loadConfig(filesConfigSchema, envOf(env)), logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await db.close();
      await emptyBucket(buckets.quarantine);
      await emptyBucket(buckets.clean);
      s3.destroy();
    },
  };
}

/** Asks for an upload, PUTs `bytes` to the pre-signed URL with the signed headers, completes it; returns the file id and the PUT's status. */
export async function upload(url: string, name: string, contentType: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<{ id: string; put: number; completed: Reply }> {
  const asked = await call(url, 'POST', '/v1/files', { name, contentType, size: bytes.length }, headers);
  if (asked.status !== 201) throw new Error(`upload refused: ${asked.status} ${asked.text}`);
  const put = await fetch(asked.body.upload.url as string, { method: 'PUT', headers: asked.body.upload.headers as Record<string, string>, body: bytes });
  await put.arrayBuffer();
  const completed = await call(url, 'POST', `/v1/files/${asked.body.file.id}/complete`, undefined, headers);
  return { id: asked.body.file.id as string, put: put.status, completed };
}

export const newId = (): string => randomUUID();

/** The smallest valid PNG header (8-byte signature + IHDR start): enough for the magic-byte check. */
export const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0', 'latin1')]);
