/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';

export const FileIdParams = z.object({ id: z.uuid() });

export const UploadBody = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .refine((n) => ![...n].some((c) => c === '/' || c === '\\' || c.charCodeAt(0) < 0x20), { message: 'a file name has no slashes or control characters' })
    .describe('The file name shown and offered on download.'),
  contentType: z.string().min(3).max(100).describe('Declared media type; must be on the allow-list and match the bytes.'),
  size: z.number().int().positive().describe('Exact size in bytes; the PUT must send exactly this many.'),
});

const Status = z.enum(['awaiting_upload', 'quarantined', 'clean', 'rejected']);

export const FileResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  contentType: z.string().describe('The declared type.'),
  size: z.number().int(),
  status: Status.describe('awaiting_upload → quarantined (scan pending) → clean or rejected.'),
  detectedType: z.string().nullable().describe('The type the bytes showed, once scanned.'),
  rejectReason: z.enum(['infected', 'type_mismatch', 'size_mismatch']).nullable(),
  owner: z.string(),
  derivatives: z.array(z.string()).describe('Derived objects of a clean image (thumb-128.webp, thumb-512.webp, thumb-512.avif), downloadable by name.'),
  scanAttempts: z.number().int().describe('Scan attempts so far; more than one means the scanner or storage was away.'),
  createdAt: z.string(),
  scannedAt: z.string().nullable(),
});

const PartTicket = z.object({ partNumber: z.number().int().min(1), size: z.number().int(), url: z.string() });

export const UploadResponse = z.object({
  file: FileResponse,
  upload: z.object({
    method: z.literal('PUT'),
    url: z.string().optional().describe('Pre-signed URL of the object in quarantine (a file of one part).'),
    headers: z.record(z.string(), z.string()).describe('Send exactly these headers: they are signed.'),
    parts: z.array(PartTicket).optional().describe('A file larger than one part: PUT each part to its URL with exactly `size` bytes (content-length is signed), in any order, again alone if it failed; then complete.'),
    expiresAt: z.string(),
  }),
});

export const ResumeResponse = z.object({
  file: FileResponse,
  received: z.array(z.object({ partNumber: z.number().int(), size: z.number().int() })).describe('Parts storage already has.'),
  missing: z.array(PartTicket).describe('Fresh pre-signed PUTs of the parts still missing.'),
});

export const DerivativeParams = z.object({ id: z.uuid(), name: z.string().regex(/^[a-z0-9-]+\.(webp|avif)$/) });
export const DownloadResponse = z.object({ url: z.string().describe('Pre-signed GET of the clean object.'), expiresAt: z.string() });
export const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
export const ListResponse = z.object({ items: z.array(FileResponse) });
export const QuotaResponse = z.object({ usedBytes: z.number().int(), quotaBytes: z.number().int(), maxFileBytes: z.number().int(), allowedTypes: z.array(z.string()) });
