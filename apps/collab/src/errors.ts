/**
 * Error codes of the collaborative documents service (REST), registered once
 * at import. WebSocket refusals are close codes, listed in ws/close-codes.ts.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const COLLAB_ERROR_CODES = [
  { code: 'COLLAB_DOCUMENT_NOT_FOUND', status: 404, title: 'Document not found', description: "No document with this id in the caller's tenant (another tenant's documents are not found either)." },
  { code: 'COLLAB_LOGIN_REQUIRED', status: 401, title: 'Login required', description: 'Documents belong to a verified user of a tenant (x-auth-sub and x-auth-tenant, set by the gateway).' },
  { code: 'COLLAB_CURSOR_INVALID', status: 400, title: 'Invalid cursor', description: 'The `cursor` is not a `nextCursor` this service gave.' },
  { code: 'COLLAB_ACCESS_DENIED', status: 403, title: 'Document access denied', description: "The caller's roles are not among the document's readers (reading) or writers (writing, changing access)." },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(COLLAB_ERROR_CODES);

export type CollabErrorCode = (typeof COLLAB_ERROR_CODES)[number]['code'];

export function collabError(code: CollabErrorCode, detail: string): AppError {
  return new AppError(code, detail, { status: COLLAB_ERROR_CODES.find((c) => c.code === code)!.status });
}
