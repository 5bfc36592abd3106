/**
 * Test helpers: the real files service on port 0 against the PostgreSQL,
 * Kafka, S3 server (versitygw) and clamd of scripts/infra, each test in its
 * own schema and its own pair of buckets (random suffix), removed at
 * cleanup. `call` carries TEST_TENANT and a subject as the gateway would.
 */
import { randomUUID } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '@bulwark/service-kit';
import { call as plainCall, devNull, kafkaBrokers, setupServiceBed, TEST_TENANT, type Reply, type ServiceBed } from '@bulwark/test-support';
import { ensureInfra } from '../../../scripts/infra/index.ts';
import { createFilesApp, type FilesApp } from '../src/app.ts';
import { filesConfigSchema } from '../src/config.ts';

export type { Reply } from '@bulwark/test-support';
export { EICAR } from '../../../scripts/infra/clamd.ts';

/** The S3 server and clamd of scripts/infra (started when missing; the first start on a machine builds versitygw). */
export async function objectInfra(): Promise<Record<string, string>> {
  return ensureInfra(['s3', 'clamd']);
}

export const USER = 'user-1';

/** A call as `sub` of `tenant`, as the gateway forwards it. */
export function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return plainCall(url, method, path, body, { 'x-auth-tenant': TEST_TENANT, 'x-auth-sub': USER, ...headers });
}

export interface TestFiles extends ServiceBed<FilesApp> {
  buckets: { quarantine: string; clean: string };
  s3: S3Client;
}

export async function setupFiles(): Promise<TestFiles> {
  const infra = await objectInfra();
  const s3 = new S3Client({ endpoint: infra.BULWARK_S3_URL, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: infra.BULWARK_S3_ACCESS_KEY!, secretAccessKey: infra.BULWARK_S3_SECRET_KEY! } });
  const bucketsOf = (id: string) => ({ quarantine: `fq-${id}`.replaceAll('_', '-').toLowerCase(), clean: `fc-${id}`.replaceAll('_', '-').toLowerCase() });
  const bed = await setupServiceBed({
    name: 'files',
    schemaEnv: 'FILES_SCHEMA',
    create: (env) => createFilesApp({ config: loadConfig(filesConfigSchema, env), logDestination: devNull }),
    env: ({ id }) => ({
      S3_URL: infra.BULWARK_S3_URL!,
      S3_ACCESS_KEY: infra.BULWARK_S3_ACCESS_KEY!,
      S3_SECRET_KEY: infra.BULWARK_S3_SECRET_KEY!,
      QUARANTINE_BUCKET: bucketsOf(id).quarantine,
      CLEAN_BUCKET: bucketsOf(id).clean,
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
    }),
  });
  const buckets = bucketsOf(bed.id);
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
  bed.onCleanup(async () => {
    await emptyBucket(buckets.quarantine);
    await emptyBucket(buckets.clean);
    s3.destroy();
  });
  return Object.assign(bed, { buckets, s3 });
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
