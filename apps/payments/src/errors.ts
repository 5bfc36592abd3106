/**
 * Error codes of the payments service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json (the
 * type URI is the code in kebab case, e.g. .../payment-declined).
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const PAYMENTS_ERROR_CODES = [
  { code: 'PAYMENT_DECLINED', status: 402, title: 'Payment declined', description: 'The PSP declined the authorization. The payment is recorded as declined; no money moved. A retry with the same key replays this answer; a new attempt needs a new key.' },
  { code: 'PAYMENTS_IDEMPOTENCY_KEY_REQUIRED', status: 400, title: 'Idempotency-Key required', description: 'Unsafe payment calls must carry an Idempotency-Key header (1–255 visible ASCII characters).' },
  { code: 'PAYMENTS_IDEMPOTENCY_KEY_REUSED', status: 422, title: 'Idempotency-Key reused with another request', description: 'The key was first used with a different method, path or body; nothing was done. Use a new key for a new request.' },
  { code: 'PAYMENTS_NOT_FOUND', status: 404, title: 'Payment not found', description: 'No payment has this id.' },
  { code: 'PAYMENTS_INVALID_TRANSITION', status: 409, title: 'Transition not possible', description: 'The payment cannot do this from its current status (capture after void, void after capture, refund before capture, …).' },
  { code: 'PAYMENTS_AMOUNT_INVALID', status: 400, title: 'Amount out of range', description: 'The amount is not an integer from 1 to the PSP\'s limit (MAX_PAYMENT_AMOUNT minor units); nothing was recorded or sent to the PSP. The HTTP schema refuses the same amounts with REQUEST_VALIDATION_FAILED; this code is the use cases\' backstop.' },
  { code: 'PAYMENTS_PSP_REQUEST_REJECTED', status: 502, title: 'PSP refused the request', description: 'The PSP answered that the request payments sent is invalid (a contract mismatch between payments and the PSP, a bug). Nothing was recorded; the same request will be refused again, so do not retry it.' },
  { code: 'PAYMENTS_AMOUNT_TOO_LARGE', status: 422, title: 'Amount too large', description: 'The capture or refund amount exceeds what is authorized or still refundable.' },
  { code: 'PAYMENTS_PSP_TIMEOUT', status: 504, title: 'PSP timed out', description: 'The PSP did not answer in time. Nothing was recorded; retry with the same Idempotency-Key (the PSP call is idempotent by that key, so a retry never charges twice).' },
  { code: 'PAYMENTS_PSP_UNAVAILABLE', status: 503, title: 'PSP unavailable', description: 'The PSP failed or the circuit breaker is open. Nothing was recorded; retry later with the same Idempotency-Key.' },
  { code: 'PAYMENTS_WEBHOOK_PAYMENT_UNKNOWN', status: 409, title: 'Payment not known yet', description: 'Retired (issue 24): a webhook for an intent with no payment is now acknowledged with 200 and outcome "unknown_intent". Kept so the code is never reused.' },
  { code: 'PAYMENTS_AUTHORIZATION_VOIDED', status: 409, title: 'Authorization voided as an orphan', description: 'The authorization the PSP made for this Idempotency-Key had no payment for longer than ORPHAN_GRACE_MS (its first attempt rolled back and was not retried in time) and was voided. Nothing was recorded; authorize again with a new key.' },
  { code: 'PAYMENTS_WEBHOOK_INVALID', status: 400, title: 'Webhook payload invalid', description: 'The webhook is correctly signed but its JSON is not a PSP payment_intent event.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(PAYMENTS_ERROR_CODES);

export type PaymentsErrorCode = (typeof PAYMENTS_ERROR_CODES)[number]['code'];

export function paymentsError(code: PaymentsErrorCode, message: string, options: { extensions?: Record<string, unknown>; headers?: Record<string, string>; retryAfterSeconds?: number } = {}): AppError {
  return new AppError(code, message, { status: PAYMENTS_ERROR_CODES.find((c) => c.code === code)!.status, ...options });
}
