/**
 * Error codes of the files service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const FILES_ERROR_CODES = [
  {
    code: 'FILES_TYPE_NOT_ALLOWED',
    status: 415,
    title: 'File type not allowed',
    description: 'The declared content type is not on the allow-list (`allowed`). Nothing was stored.',
  },
  {
    code: 'FILES_TOO_LARGE',
    status: 413,
    title: 'File too large',
    description: 'The declared size is above the largest upload (`maxBytes`); refused before any byte is sent.',
  },
  {
    code: 'FILES_QUOTA_EXCEEDED',
    status: 409,
    title: 'Storage quota exceeded',
    description: "The tenant's quarantined and clean files (`usedBytes`) plus this one would pass its quota (`quotaBytes`). Delete files or ask for a larger quota.",
  },
  {
    code: 'FILES_NOT_FOUND',
    status: 404,
    title: 'File not found',
    description: 'No file with this id exists for this tenant.',
  },
  {
    code: 'FILES_NOT_UPLOADED',
    status: 409,
    title: 'Upload not received',
    description: 'Complete was called before the bytes reached storage through the pre-signed PUT, or after the upload URL expired (`status`).',
  },
  {
    code: 'FILES_NOT_CLEAN',
    status: 409,
    title: 'File not downloadable',
    description: 'Only files scanned clean are served; this one is still in quarantine or was rejected (`status`, `rejectReason`).',
  },
  {
    code: 'FILES_PRINCIPAL_REQUIRED',
    status: 401,
    title: 'Signed-in caller required',
    description: 'Files belong to a verified subject (x-auth-sub, set by the gateway from the access token).',
  },
  {
    code: 'FILES_STORAGE_UNAVAILABLE',
    status: 503,
    title: 'Object storage unavailable',
    description: 'The S3 server did not answer; nothing changed. Retry later.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(FILES_ERROR_CODES);

export type FilesErrorCode = (typeof FILES_ERROR_CODES)[number]['code'];

/** The one way this service raises its codes. */
export function filesError(code: FilesErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const status = FILES_ERROR_CODES.find((c) => c.code === code)!.status;
  return new AppError(code, message, { status, extensions });
}
