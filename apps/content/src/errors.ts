/**
 * Error codes of the content service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const CONTENT_ERROR_CODES = [
  { code: 'CONTENT_LOGIN_REQUIRED', status: 403, title: 'Login required', description: 'Writing articles needs a verified user (x-auth-sub, set by the gateway).' },
  { code: 'CONTENT_MODERATOR_ONLY', status: 403, title: 'Moderators only', description: 'The moderation queue and decisions need the `moderator` or `admin` role.' },
  { code: 'CONTENT_NOT_AUTHOR', status: 403, title: 'Not the author', description: 'Only the author of an article changes or submits it.' },
  { code: 'CONTENT_ARTICLE_NOT_FOUND', status: 404, title: 'Article not found', description: 'No article with this id or slug in the tenant (public reads: none published).' },
  { code: 'CONTENT_SLUG_TAKEN', status: 409, title: 'Slug taken', description: 'Another article of the tenant has this slug.' },
  { code: 'CONTENT_REVISION_CONFLICT', status: 409, title: 'Revision conflict', description: 'The article changed since the revision named in `revision` (`current` is the latest); read it again and reapply.' },
  { code: 'CONTENT_INVALID_TRANSITION', status: 409, title: 'Invalid state change', description: 'The article is not in a state that allows this (`status`: its state).' },
  { code: 'CONTENT_PUBLISH_AT_IN_PAST', status: 422, title: 'publishAt in the past', description: '`publishAt` must be in the future; leave it out to publish now.' },
  { code: 'CONTENT_TENANT_INVALID', status: 400, title: 'Invalid tenant', description: 'The tenant in the path is not a tenant id.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(CONTENT_ERROR_CODES);

export type ContentErrorCode = (typeof CONTENT_ERROR_CODES)[number]['code'];

export function contentError(code: ContentErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const info = CONTENT_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...(extensions ? { extensions } : {}) });
}
