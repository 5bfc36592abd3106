/**
 * `npm run bench -- files`: the scanner's throughput. BENCH_FILES (default
 * 100) text files of BENCH_FILE_KIB (default 256) KiB are uploaded through
 * the real files service (pre-signed PUT into quarantine, complete) with no
 * scanner running; then, in the same run, the baseline reads every object
 * back from the S3 server (streamed and dropped, SCAN_BATCH at a time: what
 * any scanner must pay for storage), and the scanner (one instance,
 * SCAN_BATCH=4) takes the whole quarantine to clean through clamd. Prints
 * files/s and MiB/s of both and the ratio. Needs `npm run infra` (S3, clamd,
 * PostgreSQL, Kafka).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { setupFiles, upload } from '../apps/files/test/support.ts';
import { ensureInfra } from '../scripts/infra/index.ts';

const FILES = Number(process.env.BENCH_FILES ?? 100);
const KIB = Number(process.env.BENCH_FILE_KIB ?? 256);
const BATCH = 4;

/** Printable bytes, so the magic-byte check sees text/plain. */
function textBytes(n: number): Buffer {
  const raw = randomBytes(n);
  for (let i = 0; i < n; i++) raw[i] = 0x20 + (raw[i]! % 0x5f);
  return raw;
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export default async function main(): Promise<void> {
  Object.assign(process.env, await ensureInfra(['postgres', 'kafka', 's3', 'clamd']));
  const t = await setupFiles();
  try {
    const { url: front } = await t.start({ SCANNER_ENABLED: 'false', TENANT_QUOTA_BYTES: String(FILES * KIB * 1024 * 2), MAX_FILE_BYTES: String(KIB * 1024) });
    const ids: string[] = [];
    const uploadStarted = performance.now();
    await inBatches(Array.from({ length: FILES }, (_, i) => i), 8, async (i) => {
      const { id, put } = await upload(front, `f${i}.txt`, 'text/plain', textBytes(KIB * 1024));
      if (put !== 200) throw new Error(`PUT answered ${put}`);
      ids.push(id);
    });
    const uploadSeconds = (performance.now() - uploadStarted) / 1000;

    const readStarted = performance.now();
    await inBatches(ids, BATCH, async (id) => {
      const object = await t.s3.send(new GetObjectCommand({ Bucket: t.buckets.quarantine, Key: `tenant-a/${id}/original` }));
      for await (const chunk of object.Body as AsyncIterable<Uint8Array>) void chunk;
    });
    const readSeconds = (performance.now() - readStarted) / 1000;

    // Started idle, so the timing covers scanning only, not the service's start.
    const { app: scanning } = await t.start({ SCAN_BATCH: String(BATCH), SCAN_INTERVAL_MS: '20', SCANNER_ENABLED: 'false' });
    const scanStarted = performance.now();
    scanning.scanner.start();
    for (;;) {
      const { rows } = await t.db.query<{ left: number; rejected: number }>("SELECT count(*) FILTER (WHERE status = 'quarantined')::int AS left, count(*) FILTER (WHERE status = 'rejected')::int AS rejected FROM files");
      if (rows[0]!.rejected > 0) throw new Error(`${rows[0]!.rejected} files rejected: the bench data should be clean`);
      if (rows[0]!.left === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const scanSeconds = (performance.now() - scanStarted) / 1000;

    const mib = (FILES * KIB) / 1024;
    const row = (what: string, s: number) => `${what.padEnd(42)} ${(FILES / s).toFixed(1).padStart(8)} files/s ${(mib / s).toFixed(1).padStart(8)} MiB/s  (${s.toFixed(2)} s)`;
    console.log(`files bench: ${FILES} files × ${KIB} KiB = ${mib.toFixed(1)} MiB`);
    console.log(row('upload (ask + PUT + complete, 8 at a time)', uploadSeconds));
    console.log(row(`baseline: read from S3 only (${BATCH} at a time)`, readSeconds));
    console.log(row(`scanner: S3 → clamd → promote (${BATCH} at a time)`, scanSeconds));
    console.log(`scanner / baseline time: ${(scanSeconds / readSeconds).toFixed(2)}×`);
  } finally {
    await t.cleanup();
  }
}
