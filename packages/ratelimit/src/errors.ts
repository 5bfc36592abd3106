/**
 * Error codes of @bulwark/ratelimit, registered once at import. Codes are
 * never reused; each says when it happens and what the caller should do.
 */
import { AppError, registerErrorCodes } from '@bulwark/errors';

export const RATE_LIMITED = 'RATE_LIMITED';
export const RATE_LIMIT_UNAVAILABLE = 'RATE_LIMIT_UNAVAILABLE';
export const RATE_LIMIT_POLICY_INVALID = 'RATE_LIMIT_POLICY_INVALID';
export const RATE_LIMIT_POLICY_UNKNOWN = 'RATE_LIMIT_POLICY_UNKNOWN';

registerErrorCodes([
  {
    code: RATE_LIMITED,
    status: 429,
    title: 'Too many requests',
    description: 'A rate-limit policy rejected the request; retry after the number of seconds in Retry-After.',
  },
  {
    code: RATE_LIMIT_UNAVAILABLE,
    status: 503,
    title: 'Rate limiter unavailable',
    description: 'The rate-limit store is down or slow and the limiter fails closed; retry after Retry-After.',
  },
  {
    code: RATE_LIMIT_POLICY_INVALID,
    status: 500,
    title: 'Invalid rate-limit policy',
    description: 'A policy in the configuration has a bad name, limit, window or algorithm; fix the configuration.',
  },
  {
    code: RATE_LIMIT_POLICY_UNKNOWN,
    status: 500,
    title: 'Unknown rate-limit policy',
    description: 'A check named a policy the limiter does not have; add it to the configuration or fix the name.',
  },
]);

export function policyInvalid(message: string): AppError {
  return new AppError(RATE_LIMIT_POLICY_INVALID, message, { status: 500 });
}

export function policyUnknown(name: string): AppError {
  return new AppError(RATE_LIMIT_POLICY_UNKNOWN, `no rate-limit policy named "${name}"`, { status: 500 });
}
