/**
 * The error codes of @bulwark/webhook-signature, registered once at import.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';
import type { VerifyFailure } from './signature.ts';

export const WEBHOOK_SIGNATURE_ERROR_CODES = [
  {
    code: 'WEBHOOK_SIGNATURE_INVALID',
    status: 401,
    title: 'Webhook signature invalid',
    description:
      'The Bulwark-Signature header is missing or malformed, its timestamp is outside the tolerance (a replay or a skewed clock), or no v1 signature matches an active secret; the sender should re-sign with a current secret.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(WEBHOOK_SIGNATURE_ERROR_CODES);

const REASON_TEXT: Record<VerifyFailure['reason'], string> = {
  missing: 'The request carries no signature header.',
  malformed: 'The signature header is not of the form t=<seconds>,v1=<hex>.',
  stale: 'The signature timestamp is older than the tolerance; the request may be a replay.',
  future: 'The signature timestamp is further in the future than the tolerance.',
  mismatch: 'No v1 signature matches an active secret for this body.',
};

export function signatureInvalid(reason: VerifyFailure['reason']): AppError {
  return new AppError('WEBHOOK_SIGNATURE_INVALID', REASON_TEXT[reason], {
    status: 401,
    extensions: { reason },
    headers: { 'www-authenticate': 'Bulwark-Signature' },
  });
}
