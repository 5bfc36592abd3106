/**
 * Use cases of a tenant's files: ask for an upload (allow-list, size limit and
 * quota decided before any byte is sent; a pre-signed PUT into quarantine),
 * complete it (the object must be there, at the declared size), read, get a
 * pre-signed GET (clean files only) and delete (the file and every derived
 * object).
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type DbPool } from '@bulwark/db';
import type { Storage } from '../clients/storage.ts';
import { filesError } from '../errors.ts';
import { deleteFileRow, findFile, insertFile, lockTenantQuota, markUploaded, usedBytes, type FileRecord } from '../store/files-store.ts';
import { recordFileEvent } from './files-events.ts';

export interface UploadPolicy {
  allowedTypes: readonly string[];
  maxBytes: number;
  quotaBytes: number;
  uploadTtlSeconds: number;
  downloadTtlSeconds: number;
}

export interface FilesDeps {
  pool: DbPool;
  storage: Storage;
  policy: UploadPolicy;
}

export interface UploadRequest {
  tenant: string;
  owner: string;
  name: string;
  contentType: string;
  size: number;
}

export interface UploadTicket {
  file: FileRecord;
  uploadUrl: string;
  /** Headers the PUT must carry exactly (they are signed). */
  uploadHeaders: Record<string, string>;
}

export async function requestUpload(deps: FilesDeps, req: UploadRequest): Promise<UploadTicket> {
  const { policy } = deps;
  const contentType = req.contentType.toLowerCase();
  if (!policy.allowedTypes.includes(contentType)) throw filesError('FILES_TYPE_NOT_ALLOWED', `${req.contentType} is not an allowed type`, { allowed: policy.allowedTypes });
  if (req.size > policy.maxBytes) throw filesError('FILES_TOO_LARGE', `${req.size} bytes is above the limit of ${policy.maxBytes}`, { maxBytes: policy.maxBytes });
  const id = randomUUID();
  const objectKey = `${req.tenant}/${id}/original`;
  const file = await withTransaction(deps.pool, async (tx) => {
    await lockTenantQuota(tx, req.tenant);
    const used = await usedBytes(tx);
    if (used + req.size > policy.quotaBytes) throw filesError('FILES_QUOTA_EXCEEDED', `the tenant holds ${used} of ${policy.quotaBytes} bytes`, { usedBytes: used, quotaBytes: policy.quotaBytes });
    return insertFile(tx, { id, owner: req.owner, name: req.name, declaredType: contentType, size: req.size, objectKey, uploadExpiresAt: new Date(Date.now() + policy.uploadTtlSeconds * 1000) });
  });
  const uploadUrl = await deps.storage.presignUpload(objectKey, contentType, req.size, policy.uploadTtlSeconds);
  return { file, uploadUrl, uploadHeaders: { 'content-type': contentType, 'content-length': String(req.size) } };
}

/** The bytes are in quarantine: the file waits for its scan. Idempotent once quarantined or scanned. */
export async function completeUpload(deps: FilesDeps, id: string): Promise<FileRecord> {
  const file = await getFile(deps.pool, id);
  if (file.status !== 'awaiting_upload') return file;
  if (Date.parse(file.uploadExpiresAt) < Date.now()) throw filesError('FILES_NOT_UPLOADED', 'the upload URL expired; ask for a new upload', { status: file.status });
  const size = await deps.storage.quarantinedSize(file.objectKey).catch((err: unknown) => {
    throw filesError('FILES_STORAGE_UNAVAILABLE', `object storage: ${(err as Error).message}`);
  });
  if (size === undefined) throw filesError('FILES_NOT_UPLOADED', 'no bytes were received for this file yet', { status: file.status });
  return (await markUploaded(deps.pool, id)) ?? getFile(deps.pool, id);
}

export async function getFile(pool: DbPool, id: string): Promise<FileRecord> {
  const file = await findFile(pool, id);
  if (!file) throw filesError('FILES_NOT_FOUND', `file ${id} does not exist`);
  return file;
}

export async function downloadUrl(deps: FilesDeps, id: string): Promise<{ url: string; expiresAt: string }> {
  const file = await getFile(deps.pool, id);
  if (file.status !== 'clean') throw filesError('FILES_NOT_CLEAN', `file ${id} is ${file.status}`, { status: file.status, rejectReason: file.rejectReason });
  const url = await deps.storage.presignDownload(file.objectKey, file.name, deps.policy.downloadTtlSeconds);
  return { url, expiresAt: new Date(Date.now() + deps.policy.downloadTtlSeconds * 1000).toISOString() };
}

/**
 * Removes the objects first (both buckets, derived ones too), then the row
 * with its event: a storage failure leaves the file listed, to delete again.
 */
export async function deleteFile(deps: FilesDeps, id: string): Promise<void> {
  const file = await getFile(deps.pool, id);
  await deps.storage.removeAll(file.objectKey).catch((err: unknown) => {
    throw filesError('FILES_STORAGE_UNAVAILABLE', `object storage: ${(err as Error).message}`);
  });
  await withTransaction(deps.pool, async (tx) => {
    const gone = await deleteFileRow(tx, id);
    if (gone) {
      await recordFileEvent(tx, 'deleted', {
        fileId: gone.id,
        tenant: gone.tenant,
        owner: gone.owner,
        name: gone.name,
        contentType: gone.declaredType,
        size: gone.size,
        rejectReason: gone.rejectReason,
        signature: gone.signature,
        detectedType: gone.detectedType,
      });
    }
  });
}
