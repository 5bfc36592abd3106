/**
 * Error codes of the shortener, registered once at import. Each code means
 * one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const SHORTENER_ERROR_CODES = [
  { code: 'SHORTENER_LOGIN_REQUIRED', status: 403, title: 'Login required', description: 'Links belong to a verified user (x-auth-sub, set by the gateway).' },
  { code: 'SHORTENER_LINK_NOT_FOUND', status: 404, title: 'Link not found', description: 'No link with this code (for management routes: none of the caller\'s).' },
  { code: 'SHORTENER_LINK_EXPIRED', status: 410, title: 'Link expired', description: 'The link passed its `expiresAt`; it no longer redirects.' },
  { code: 'SHORTENER_ALIAS_TAKEN', status: 409, title: 'Alias taken', description: 'Another link already uses this custom alias (`alias`).' },
  { code: 'SHORTENER_ALIAS_INVALID', status: 422, title: 'Invalid alias', description: 'An alias is 3 to 32 letters, digits, `_` or `-`, and not one of our own path names (`reason`: pattern or reserved).' },
  { code: 'SHORTENER_TARGET_INVALID', status: 422, title: 'Invalid target URL', description: 'The target must be an absolute http(s) URL of at most 2,048 characters, without user:password, and not one of our own short links (`reason`: too-long, not-a-url, scheme, credentials, host, loop).' },
  { code: 'SHORTENER_EXPIRY_IN_PAST', status: 422, title: 'Expiry in the past', description: '`expiresAt` must be in the future.' },
  { code: 'SHORTENER_CODE_EXHAUSTED', status: 503, title: 'No free code', description: 'Several generated codes in a row were taken (the code space is nearly full, or something is wrong); retry, and tell the operators.' },
  { code: 'SHORTENER_CREATION_PAUSED', status: 503, title: 'Link creation paused', description: 'The tenant\'s operators turned link creation off (the flag `shortener-link-creation`), e.g. during an abuse wave; redirects of existing links keep working. Retry later.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(SHORTENER_ERROR_CODES);

export type ShortenerErrorCode = (typeof SHORTENER_ERROR_CODES)[number]['code'];

export function shortenerError(code: ShortenerErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const info = SHORTENER_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...(extensions ? { extensions } : {}) });
}
