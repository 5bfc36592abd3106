/**
 * Export of a closed period to the real S3 server of scripts/infra
 * (versitygw) into a bucket with object lock: the object holds the signed
 * tree head and every entry of the month with a SHA-256 the exports table
 * records; it cannot be overwritten or deleted; an open month, or one no
 * later tree head covers, is not exported; a second export is a no-op.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { withSystemContext, withTransaction } from '@bulwark/db';
import { ensureInfra } from '../../../scripts/infra/index.ts';
import { appendEvents } from '../src/domain/append.ts';
import { exportPeriod, previousPeriod, type ExportTarget } from '../src/domain/export-period.ts';
import { signTreeHead } from '../src/domain/tree-heads.ts';
import { sampleEvent, setupAudit, type TestAudit } from './support.ts';

let audit: TestAudit;
let target: ExportTarget;
let s3: S3Client;

beforeAll(async () => {
  const infra = await ensureInfra(['s3']);
  s3 = new S3Client({ endpoint: infra.BULWARK_S3_URL, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: infra.BULWARK_S3_ACCESS_KEY!, secretAccessKey: infra.BULWARK_S3_SECRET_KEY! } });
  const bucket = `audit-test-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  target = { s3, bucket, prefix: 'audit/periods/', objectLock: true };
  audit = await setupAudit();
}, 300_000);

afterAll(async () => {
  s3?.destroy();
  await audit?.cleanup();
});

const append = (n: number, now: Date) =>
  withSystemContext(audit.app.pool, 'audit.test', () => withTransaction(audit.app.pool, (tx) => appendEvents(tx, audit.app.signer, Array.from({ length: n }, (_, i) => sampleEvent(1000 + i)), now)));

describe('audit export of closed periods', () => {
  it('when October is closed and signed, then it is written once with object lock and its digest recorded', async () => {
    const october = new Date(Date.UTC(2026, 9, 15));
    await append(4, october);
    await append(2, new Date(Date.UTC(2026, 10, 2))); // November: another period
    expect(await exportPeriod(audit.app.pool, target, '2026-10', audit.app.signer.publicKeyPem, new Date(Date.UTC(2026, 9, 31)))).toEqual({ exported: false, reason: 'period-open' });
    // The last head was signed at start, before the entries: not covered yet.
    expect(await exportPeriod(audit.app.pool, target, '2026-10', audit.app.signer.publicKeyPem)).toEqual({ exported: false, reason: 'not-signed-yet' });
    await signTreeHead(audit.app.pool, audit.app.signer);
    const outcome = await exportPeriod(audit.app.pool, target, '2026-10', audit.app.signer.publicKeyPem);
    expect(outcome).toEqual({ exported: true, key: 'audit/periods/2026-10.ndjson', entries: 4, treeSize: 6 });

    const object = await s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: 'audit/periods/2026-10.ndjson' }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    const [header, ...lines] = bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(header).toMatchObject({ kind: 'bulwark-audit-period:v1', period: '2026-10', treeHead: { treeSize: 6 } });
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3]);
    const { rows } = await audit.superuser.query<{ sha256: Buffer; locked_until: Date }>("SELECT sha256, locked_until FROM exports WHERE period = '2026-10'");
    expect(rows[0]!.sha256.equals(createHash('sha256').update(bytes).digest())).toBe(true);
    expect(rows[0]!.locked_until.getTime()).toBeGreaterThan(Date.UTC(2027, 10, 1)); // authentication: 400 days after the month

    // Write-once: neither a delete nor an overwrite gets through the lock; a second export does nothing.
    await expect(s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: 'audit/periods/2026-10.ndjson' }))).rejects.toThrow(/lock/i);
    await expect(s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: 'audit/periods/2026-10.ndjson', Body: 'forged' }))).rejects.toThrow(/lock/i);
    expect(await exportPeriod(audit.app.pool, target, '2026-10', audit.app.signer.publicKeyPem)).toEqual({ exported: false, reason: 'already-exported' });
  });

  it('when the previous month is asked for, then it is the calendar month before, across a year', () => {
    expect(previousPeriod(new Date(Date.UTC(2027, 0, 3)))).toBe('2026-12');
    expect(previousPeriod(new Date(Date.UTC(2026, 11, 7)))).toBe('2026-11');
  });
});
