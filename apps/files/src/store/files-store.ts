/**
 * SQL of files; plain objects out, parameterised statements only. The
 * quarantined rows are the scanner's queue (claimDueScans).
 */
import type { Queryable } from '@bulwark/db';

export type FileStatus = 'awaiting_upload' | 'quarantined' | 'clean' | 'rejected';
export type RejectReason = 'infected' | 'type_mismatch' | 'size_mismatch';

export interface FileRecord {
  id: string;
  tenant: string;
  owner: string;
  name: string;
  declaredType: string;
  size: number;
  objectKey: string;
  status: FileStatus;
  detectedType: string | null;
  rejectReason: RejectReason | null;
  signature: string | null;
  scanAttempts: number;
  lastScanError: string | null;
  /** Names of the derived objects beside the original (thumbnails). */
  derivatives: string[];
  /** The multipart upload in quarantine, for files uploaded in parts. */
  uploadId: string | null;
  partBytes: number | null;
  uploadExpiresAt: string;
  createdAt: string;
  scannedAt: string | null;
}

interface FileRow {
  id: string;
  tenant_id: string;
  owner: string;
  name: string;
  declared_type: string;
  size: string;
  object_key: string;
  status: FileStatus;
  detected_type: string | null;
  reject_reason: RejectReason | null;
  signature: string | null;
  scan_attempts: number;
  last_scan_error: string | null;
  upload_id: string | null;
  part_bytes: string | null;
  derivatives: string[];
  upload_expires_at: Date;
  created_at: Date;
  scanned_at: Date | null;
}

const COLUMNS = 'id, tenant_id, owner, name, declared_type, size, object_key, status, detected_type, reject_reason, signature, scan_attempts, last_scan_error, upload_id, part_bytes, derivatives, upload_expires_at, created_at, scanned_at';

const toFile = (r: FileRow): FileRecord => ({
  id: r.id,
  tenant: r.tenant_id,
  owner: r.owner,
  name: r.name,
  declaredType: r.declared_type,
  size: Number(r.size),
  objectKey: r.object_key,
  status: r.status,
  detectedType: r.detected_type,
  rejectReason: r.reject_reason,
  signature: r.signature,
  scanAttempts: r.scan_attempts,
  lastScanError: r.last_scan_error,
  uploadId: r.upload_id,
  derivatives: r.derivatives,
  partBytes: r.part_bytes === null ? null : Number(r.part_bytes),
  uploadExpiresAt: r.upload_expires_at.toISOString(),
  createdAt: r.created_at.toISOString(),
  scannedAt: r.scanned_at?.toISOString() ?? null,
});

/** Serialises quota decisions of one tenant until the transaction ends. */
export async function lockTenantQuota(tx: Queryable, tenant: string): Promise<void> {
  await tx.query({ name: 'files.lock_quota', text: "SELECT pg_advisory_xact_lock(hashtext('files.quota:' || $1))", values: [tenant] });
}

/** Bytes the tenant holds: quarantined and clean files, and uploads whose URL is still valid. */
export async function usedBytes(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ used: string }>({
    name: 'files.used_bytes',
    text: `SELECT COALESCE(sum(size), 0) AS used FROM files
           WHERE status IN ('quarantined', 'clean') OR (status = 'awaiting_upload' AND upload_expires_at > now())`,
  });
  return Number(rows[0]!.used);
}

export interface NewFile {
  id: string;
  owner: string;
  name: string;
  declaredType: string;
  size: number;
  objectKey: string;
  uploadExpiresAt: Date;
  uploadId?: string;
  partBytes?: number;
}

export async function insertFile(db: Queryable, file: NewFile): Promise<FileRecord> {
  const { rows } = await db.query<FileRow>({
    name: 'files.insert',
    text: `INSERT INTO files (id, owner, name, declared_type, size, object_key, status, upload_expires_at, upload_id, part_bytes)
           VALUES ($1, $2, $3, $4, $5, $6, 'awaiting_upload', $7, $8, $9) RETURNING ${COLUMNS}`,
    values: [file.id, file.owner, file.name, file.declaredType, file.size, file.objectKey, file.uploadExpiresAt, file.uploadId ?? null, file.partBytes ?? null],
  });
  return toFile(rows[0]!);
}

export async function findFile(db: Queryable, id: string): Promise<FileRecord | undefined> {
  const { rows } = await db.query<FileRow>({ name: 'files.find', text: `SELECT ${COLUMNS} FROM files WHERE id = $1`, values: [id] });
  return rows[0] && toFile(rows[0]);
}

export async function listFiles(db: Queryable, limit: number): Promise<FileRecord[]> {
  const { rows } = await db.query<FileRow>({ name: 'files.list', text: `SELECT ${COLUMNS} FROM files ORDER BY created_at DESC LIMIT $1`, values: [limit] });
  return rows.map(toFile);
}

/** awaiting_upload → quarantined (due for a scan now); undefined when the file is in another state. */
export async function markUploaded(db: Queryable, id: string): Promise<FileRecord | undefined> {
  const { rows } = await db.query<FileRow>({
    name: 'files.mark_uploaded',
    text: `UPDATE files SET status = 'quarantined', uploaded_at = now(), next_attempt_at = now()
           WHERE id = $1 AND status = 'awaiting_upload' RETURNING ${COLUMNS}`,
    values: [id],
  });
  return rows[0] && toFile(rows[0]);
}

/**
 * Claims up to `limit` quarantined files that are due and not leased by
 * another scanner, leasing them for `leaseSeconds` and counting the attempt.
 */
export async function claimDueScans(db: Queryable, limit: number, leaseSeconds: number): Promise<FileRecord[]> {
  const { rows } = await db.query<FileRow>({
    name: 'files.claim_due',
    text: `UPDATE files SET lease_until = now() + make_interval(secs => $2), scan_attempts = scan_attempts + 1
           WHERE id IN (SELECT id FROM files
                        WHERE status = 'quarantined' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
                        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING ${COLUMNS}`,
    values: [limit, leaseSeconds],
  });
  return rows.map(toFile);
}

export type ScanOutcome = { status: 'clean'; detectedType: string; derivatives?: string[] } | { status: 'rejected'; reason: RejectReason; detectedType: string | null; signature: string | null };

/** quarantined → clean or rejected; undefined when the row is gone (deleted meanwhile) or no longer quarantined. */
export async function finishScan(db: Queryable, id: string, outcome: ScanOutcome): Promise<FileRecord | undefined> {
  const rejected = outcome.status === 'rejected' ? outcome : undefined;
  const { rows } = await db.query<FileRow>({
    name: 'files.finish_scan',
    text: `UPDATE files SET status = $2, detected_type = $3, reject_reason = $4, signature = $5, derivatives = $6, scanned_at = now(), lease_until = NULL, last_scan_error = NULL
           WHERE id = $1 AND status = 'quarantined' RETURNING ${COLUMNS}`,
    values: [id, outcome.status, outcome.detectedType, rejected?.reason ?? null, rejected?.signature ?? null, outcome.status === 'clean' ? (outcome.derivatives ?? []) : []],
  });
  return rows[0] && toFile(rows[0]);
}

/** A failed attempt (scanner or storage away): the file stays quarantined, due again after `delayMs`. */
export async function retryScanLater(db: Queryable, id: string, delayMs: number, error: string): Promise<void> {
  await db.query({
    name: 'files.retry_later',
    text: `UPDATE files SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000), lease_until = NULL, last_scan_error = $3
           WHERE id = $1 AND status = 'quarantined'`,
    values: [id, delayMs, error.slice(0, 500)],
  });
}

export async function deleteFileRow(db: Queryable, id: string): Promise<FileRecord | undefined> {
  const { rows } = await db.query<FileRow>({ name: 'files.delete', text: `DELETE FROM files WHERE id = $1 RETURNING ${COLUMNS}`, values: [id] });
  return rows[0] && toFile(rows[0]);
}
