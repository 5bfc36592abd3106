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
    code: 'NOTIFICATIONS_HOST_UNRESOLVABLE',
    status: 422,
    title: 'Endpoint host does not resolve',
    description: 'DNS says the endpoint URL\'s host name does not exist or has no address (ENOTFOUND/ENODATA); check the name.',
  },
  {
    code: 'NOTIFICATIONS_DNS_UNAVAILABLE',
    status: 503,
    title: 'DNS unavailable',
    description: 'Resolving the endpoint URL\'s host failed for a reason other than a missing name (timeout, server failure); nothing was stored, retry later.',
  },
  {
    code: 'NOTIFICATIONS_EVENT_ID_REUSED',
    status: 409,
    title: 'Event id reused with another event',
    description: 'An event with this id was already published to the tenant with a different type or data; the same id with the same type and data is an idempotent 202. Use a new id for a new event.',
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
  {
    code: 'NOTIFICATIONS_ENDPOINT_NOT_FOUND',
    status: 404,
    title: 'Endpoint not found',
    description: 'The tenant has no webhook endpoint with this id.',
  },
  {
    code: 'NOTIFICATIONS_ENDPOINT_DISABLED',
    status: 409,
    title: 'Endpoint disabled',
    description: 'The endpoint is disabled (by an operator or after too many consecutive failures); enable it before sending to it.',
  },
  {
    code: 'NOTIFICATIONS_RANGE_NOT_RETAINED',
    status: 422,
    title: 'Range ends before the retained events',
    description: 'The recover range ends before the oldest time the event log still keeps (EVENTS_RETENTION_HOURS; `retainedSince` in the problem): those events are deleted and cannot be delivered. A range reaching into the retention is served.',
  },
  {
    code: 'NOTIFICATIONS_DELIVERY_NOT_FOUND',
    status: 404,
    title: 'Delivery not found',
    description: 'The tenant has no webhook delivery with this id.',
  },
  {
    code: 'NOTIFICATIONS_MESSAGE_NOT_FOUND',
    status: 404,
    title: 'Message not found',
    description: 'The tenant has no email/SMS message with this id.',
  },
  {
    code: 'NOTIFICATIONS_RECIPIENT_SUPPRESSED',
    status: 422,
    title: 'Recipient suppressed',
    description: 'The recipient is on the suppression list (an earlier hard bounce or complaint); nothing was sent.',
  },
  {
    code: 'NOTIFICATIONS_IDEMPOTENCY_KEY_REUSED',
    status: 422,
    title: 'Idempotency key reused with another message',
    description: 'A message with this idempotency key exists and differs (channel, recipient, template or variables); nothing was sent.',
  },
  {
    code: 'NOTIFICATIONS_PROVIDER_MESSAGE_UNKNOWN',
    status: 404,
    title: 'Provider message unknown',
    description: 'The provider webhook names a message id this service never sent.',
  },
  {
    code: 'NOTIFICATIONS_PROVIDER_EVENT_INVALID',
    status: 400,
    title: 'Provider event invalid',
    description: 'The provider webhook is correctly signed but is not JSON of a delivery report, bounce or complaint.',
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
