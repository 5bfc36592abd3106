/**
 * Error codes of the notifications service, registered once at import. Each
 * code means one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const NOTIFICATIONS_ERROR_CODES = [
  {
    code: 'NOTIFICATIONS_INVALID_URL',
    status: 422,
    title: 'Invalid endpoint URL',
    description: 'The webhook endpoint URL is not an absolute http(s) URL, or carries credentials.',
  },
  {
    code: 'NOTIFICATIONS_URL_FORBIDDEN',
    status: 422,
    title: 'Endpoint URL targets a forbidden address',
    description: 'The endpoint resolves to a private, loopback, link-local or otherwise non-public address (SSRF guard). Allow it explicitly in config only for trusted networks.',
  },
  {
    code: 'NOTIFICATIONS_TEMPLATE_VARIABLE_MISSING',
    status: 422,
    title: 'Template variable missing',
    description: 'The template references variables that were not supplied; the message was not rendered.',
  },
  {
    code: 'NOTIFICATIONS_TEMPLATE_NOT_FOUND',
    status: 404,
    title: 'Template not found',
    description: 'No template exists with this name for the requested locale or the default locale.',
  },
  {
    code: 'NOTIFICATIONS_PAYLOAD_TOO_LARGE',
    status: 413,
    title: 'Payload too large',
    description: 'The webhook payload exceeds the configured maximum size.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(NOTIFICATIONS_ERROR_CODES);

export type NotificationsErrorCode = (typeof NOTIFICATIONS_ERROR_CODES)[number]['code'];

function statusOf(code: NotificationsErrorCode): number {
  return NOTIFICATIONS_ERROR_CODES.find((c) => c.code === code)!.status;
}

/** The one way this service raises its codes. */
export function notificationsError(code: NotificationsErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  return new AppError(code, message, { status: statusOf(code), extensions });
}
