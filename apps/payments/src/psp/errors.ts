/**
 * Error codes of the PSP simulator, registered once at import; shaped like a
 * real PSP's API errors but rendered as problem+json by the service kit.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const PSP_ERROR_CODES = [
  { code: 'PSP_SIM_KEY_REQUIRED', status: 400, title: 'Idempotency-Key required', description: 'Every unsafe PSP call carries an Idempotency-Key; the simulator refuses calls without one.' },
  { code: 'PSP_SIM_KEY_REUSED', status: 422, title: 'Idempotency-Key reused', description: 'The key was already used for a different request (other operation, intent or body).' },
  { code: 'PSP_SIM_CARD_DECLINED', status: 402, title: 'Card declined', description: 'The authorization was declined (simulated); the intent exists with status declined. No money moved.' },
  { code: 'PSP_SIM_INTENT_NOT_FOUND', status: 404, title: 'Payment intent not found', description: 'No payment intent has this id.' },
  { code: 'PSP_SIM_INVALID_STATE', status: 409, title: 'Invalid intent state', description: 'The intent cannot do this from its current status (capture after void, refund before capture, …).' },
  { code: 'PSP_SIM_INVALID_AMOUNT', status: 422, title: 'Invalid amount', description: 'The amount is not positive or exceeds what can be captured or refunded.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(PSP_ERROR_CODES);

export type PspErrorCode = (typeof PSP_ERROR_CODES)[number]['code'];

export function pspError(code: PspErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  return new AppError(code, message, { status: PSP_ERROR_CODES.find((c) => c.code === code)!.status, extensions });
}
