/**
 * Error codes of the audit service, registered once at import; the service
 * kit maps them to problem+json. Each code means one thing forever.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const AUDIT_ERROR_CODES = [
  { code: 'AUDIT_READER_ONLY', status: 403, title: 'Auditor or admin role required', description: 'Reading the audit log needs a principal the gateway verified with the `auditor` or `admin` role.' },
  { code: 'AUDIT_ENTRY_NOT_FOUND', status: 404, title: 'Audit entry not found', description: 'No entry of your tenant has this sequence number or event id.' },
  { code: 'AUDIT_TREE_SIZE_INVALID', status: 422, title: 'Tree size out of range', description: 'A proof was asked for a tree size beyond the log, below the entry, or with first above second; nothing to prove.' },
  { code: 'AUDIT_NOT_SIGNED_YET', status: 409, title: 'No signed tree head covers this yet', description: 'The entry or size is newer than the latest signed tree head; tree heads are signed every AUDIT_TREE_HEAD_INTERVAL_MS, retry after that.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(AUDIT_ERROR_CODES);

export type AuditErrorCode = (typeof AUDIT_ERROR_CODES)[number]['code'];

export function auditError(code: AuditErrorCode, message: string, options: { extensions?: Record<string, unknown>; retryAfterSeconds?: number } = {}): AppError {
  return new AppError(code, message, { status: AUDIT_ERROR_CODES.find((c) => c.code === code)!.status, ...options });
}
