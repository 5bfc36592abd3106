/**
 * Export of a closed period (a calendar month, UTC) to object storage: one
 * NDJSON object, `<prefix><period>.ndjson`, whose first line is the signed
 * tree head covering the period and the public key, then every entry
 * recorded in the period (every tenant's, read in an audited system
 * context) with its hashes and signature, so it verifies without the
 * service. Written once: with object lock (COMPLIANCE, until the longest
 * retention of the classes in it has passed) when `objectLock`, and
 * recorded in `exports` (append-only), which makes a second export of the
 * same period a no-op. A period is closed once its month has ended and a
 * tree head signed after that covers all its entries.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { withSystemContext, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit';
import { EVENT_CLASSES } from './event-classes.ts';
import type { EntryRow } from '../store/log-store.ts';
import { entriesRecordedBetween, insertExport, isExported, latestTreeHead } from '../store/log-store.ts';

export interface ExportTarget {
  s3: S3Client;
  bucket: string;
  prefix: string;
  objectLock: boolean;
}

export type ExportOutcome = { exported: true; key: string; entries: number; treeSize: number } | { exported: false; reason: 'already-exported' | 'period-open' | 'not-signed-yet' };

/** [start, end) of a `YYYY-MM` period in UTC. */
export function periodBounds(period: string): { start: Date; end: Date } {
  const m = /^(\d{4})-(\d{2})$/.exec(period);
  if (!m) throw new RangeError(`period must be YYYY-MM, got ${JSON.stringify(period)}`);
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
}

/** The month before `now`'s, as YYYY-MM. */
export function previousPeriod(now: Date): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const line = (e: EntryRow) =>
  JSON.stringify({ seq: e.seq, eventId: e.eventId, eventType: e.eventType, eventClass: e.eventClass, tenant: e.tenantId, recordedAt: e.recordedAt.toISOString(), body: e.body, redactedAt: e.redactedAt?.toISOString() ?? null, leafHash: b64(e.leafHash), chainHash: b64(e.chainHash), keyId: e.keyId, signature: b64(e.signature) });

export async function exportPeriod(pool: DbPool, target: ExportTarget, period: string, publicKeyPem: string, now: Date = new Date()): Promise<ExportOutcome> {
  const { start, end } = periodBounds(period);
  if (end > now) return { exported: false, reason: 'period-open' };
  return withSystemContext(pool, 'audit.export', async () => {
    if (await isExported(pool, period)) return { exported: false, reason: 'already-exported' } as const;
    const head = await latestTreeHead(pool);
    const entries = await entriesRecordedBetween(pool, start, end);
    if (!head || head.signedAt < end || entries.some((e) => e.seq >= head.treeSize)) return { exported: false, reason: 'not-signed-yet' } as const;
    const treeHead = { treeSize: head.treeSize, timestamp: head.signedAt.toISOString(), rootHash: b64(head.rootHash), chainHead: b64(head.chainHead), keyId: head.keyId, signature: b64(head.signature) };
    const body = Buffer.from([JSON.stringify({ kind: 'bulwark-audit-period:v1', period, treeHead, publicKeyPem }), ...entries.map(line)].join('\n') + '\n', 'utf8');
    const sha256 = createHash('sha256').update(body).digest();
    const keepDays = Math.max(0, ...entries.map((e) => (EVENT_CLASSES as Record<string, { retentionDays: number } | undefined>)[e.eventClass]?.retentionDays ?? 0));
    const lockedUntil = target.objectLock ? new Date(end.getTime() + Math.max(1, keepDays) * 86_400_000) : null;
    const key = `${target.prefix}${period}.ndjson`;
    await target.s3.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/x-ndjson',
        ChecksumSHA256: sha256.toString('base64'),
        ...(lockedUntil && { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: lockedUntil }),
      }),
    );
    await insertExport(pool, { period, objectKey: key, sha256, entries: entries.length, treeSize: head.treeSize, lockedUntil });
    return { exported: true, key, entries: entries.length, treeSize: head.treeSize } as const;
  });
}

export interface PeriodExporter {
  start(): void;
  stop(): Promise<void>;
}

/** Every interval, exports the previous month unless it is already (any replica; the exports table keeps it once). */
export function createPeriodExporter(options: { pool: DbPool; target: ExportTarget; publicKeyPem: string; intervalMs: number; log: Logger }): PeriodExporter {
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const tick = () => {
    const period = previousPeriod(new Date());
    round = exportPeriod(options.pool, options.target, period, options.publicKeyPem).then(
      (outcome) => {
        if (outcome.exported) options.log.info({ period, key: outcome.key, entries: outcome.entries }, 'audit period exported');
      },
      (err: unknown) => options.log.warn({ err, period }, 'audit period export failed; next interval retries'),
    );
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await round;
    },
  };
}
