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
  /** Files larger than this go up as multipart parts of this size. */
  partBytes: number;
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

export interface PartTicket {
  partNumber: number;
  size: number;
  url: string;
}

/** One pre-signed PUT (`url` + `headers`), or one per part (`parts`) for a multipart upload. */
export interface UploadTicket {
  file: FileRecord;
  uploadUrl?: string;
  /** Headers the PUT must carry exactly (they are signed). */
  uploadHeaders: Record<string, string>;
  parts?: PartTicket[];
}

/** Part numbers and sizes of a file of `size` bytes cut in parts of `partBytes` (the last smaller). */
export function planParts(size: number, partBytes: number): { partNumber: number; size: number }[] {
  const count = Math.ceil(size / partBytes);
  return Array.from({ length: count }, (_, i) => ({ partNumber: i + 1, size: i === count - 1 ? size - partBytes * (count - 1) : partBytes }));
}

async function partTickets(deps: FilesDeps, file: FileRecord, only?: ReadonlySet<number>): Promise<PartTicket[]> {
  const plan = planParts(file.size, file.partBytes!).filter((p) => !only || only.has(p.partNumber));
  return Promise.all(plan.map(async (p) => ({ ...p, url: await deps.storage.presignPart(file.objectKey, file.uploadId!, p.partNumber, p.size, deps.policy.uploadTtlSeconds) })));
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
    const multipart = req.size > policy.partBytes;
    // A multipart upload whose row then fails to commit is left unfinished in quarantine: never served, only stored.
    const uploadId = multipart ? await deps.storage.startMultipart(objectKey, contentType) : undefined;
    return insertFile(tx, {
      id,
      owner: req.owner,
      name: req.name,
      declaredType: contentType,
      size: req.size,
      objectKey,
      uploadExpiresAt: new Date(Date.now() + policy.uploadTtlSeconds * 1000),
      ...(uploadId ? { uploadId, partBytes: policy.partBytes } : {}),
    });
  });
  if (file.uploadId) return { file, uploadHeaders: {}, parts: await partTickets(deps, file) };
  const uploadUrl = await deps.storage.presignUpload(objectKey, contentType, req.size, policy.uploadTtlSeconds);
  return { file, uploadUrl, uploadHeaders: { 'content-type': contentType, 'content-length': String(req.size) } };
}

/** Resuming a multipart upload: the parts storage has, and fresh URLs for the missing ones. */
export async function resumeUpload(deps: FilesDeps, id: string): Promise<{ file: FileRecord; received: { partNumber: number; size: number }[]; missing: PartTicket[] }> {
  const file = await getFile(deps.pool, id);
  if (file.status !== 'awaiting_upload' || !file.uploadId) throw filesError('FILES_NOT_UPLOADED', 'only a multipart upload still awaiting its parts can be resumed', { status: file.status });
  const received = await storageCall(() => deps.storage.listParts(file.objectKey, file.uploadId!));
  const have = new Set(received.map((p) => p.partNumber));
  const missing = new Set(planParts(file.size, file.partBytes!).map((p) => p.partNumber).filter((n) => !have.has(n)));
  return { file, received: received.map(({ partNumber, size }) => ({ partNumber, size })), missing: await partTickets(deps, file, missing) };
}

function storageCall<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((err: unknown) => {
    throw filesError('FILES_STORAGE_UNAVAILABLE', `object storage: ${(err as Error).message}`);
  });
}

/** Joins a multipart upload's parts when every planned part arrived at its size (a completed one is found as the object). */
async function joinParts(deps: FilesDeps, file: FileRecord): Promise<void> {
  if ((await storageCall(() => deps.storage.quarantinedSize(file.objectKey))) !== undefined) return;
  const received = await storageCall(() => deps.storage.listParts(file.objectKey, file.uploadId!));
  const byNumber = new Map(received.map((p) => [p.partNumber, p]));
  const plan = planParts(file.size, file.partBytes!);
  const missing = plan.filter((p) => byNumber.get(p.partNumber)?.size !== p.size).map((p) => p.partNumber);
  if (missing.length > 0) throw filesError('FILES_NOT_UPLOADED', `${missing.length} of ${plan.length} parts have not arrived`, { status: file.status, missingParts: missing });
  await storageCall(() => deps.storage.completeMultipart(file.objectKey, file.uploadId!, plan.map((p) => ({ partNumber: p.partNumber, etag: byNumber.get(p.partNumber)!.etag }))));
}

/** The bytes are in quarantine: the file waits for its scan. Idempotent once quarantined or scanned. */
export async function completeUpload(deps: FilesDeps, id: string): Promise<FileRecord> {
  const file = await getFile(deps.pool, id);
  if (file.status !== 'awaiting_upload') return file;
  if (Date.parse(file.uploadExpiresAt) < Date.now()) throw filesError('FILES_NOT_UPLOADED', 'the upload URL expired; ask for a new upload', { status: file.status });
  if (file.uploadId) await joinParts(deps, file);
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

export async function derivativeUrl(deps: FilesDeps, id: string, name: string): Promise<{ url: string; expiresAt: string }> {
  const file = await getFile(deps.pool, id);
  if (file.status !== 'clean') throw filesError('FILES_NOT_CLEAN', `file ${id} is ${file.status}`, { status: file.status, rejectReason: file.rejectReason });
  if (!file.derivatives.includes(name)) throw filesError('FILES_NOT_FOUND', `file ${id} has no derivative ${name}`, { derivatives: file.derivatives });
  const key = `${file.objectKey.slice(0, file.objectKey.lastIndexOf('/') + 1)}${name}`;
  const url = await deps.storage.presignDownload(key, name, deps.policy.downloadTtlSeconds);
  return { url, expiresAt: new Date(Date.now() + deps.policy.downloadTtlSeconds * 1000).toISOString() };
}

/**
 * Removes the objects first (both buckets, derived ones too), then the row
 * with its event: a storage failure leaves the file listed, to delete again.
 */
export async function deleteFile(deps: FilesDeps, id: string): Promise<void> {
  const file = await getFile(deps.pool, id);
  if (file.uploadId && file.status === 'awaiting_upload') await deps.storage.abortMultipart(file.objectKey, file.uploadId).catch(() => undefined); // completed or gone already
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
