/**
 * Error codes of the secrets service, registered once at import; the service
 * kit maps them to problem+json. Each code means one thing forever.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const SECRETS_ERROR_CODES = [
  { code: 'SECRETS_ADMIN_ONLY', status: 403, title: 'Admin role required', description: 'Writing secrets, disabling versions and changing access policies need a principal the gateway verified with the `admin` role.' },
  { code: 'SECRETS_TENANT_REQUIRED', status: 400, title: 'Tenant required', description: 'The request names no tenant (x-auth-tenant, set by the gateway or by the calling service); every secret belongs to one.' },
  { code: 'SECRETS_ACCESS_DENIED', status: 403, title: 'No access policy allows this read', description: "The calling service's client id has no access policy of the tenant whose path patterns match this secret." },
  { code: 'SECRETS_NOT_FOUND', status: 404, title: 'Secret not found', description: 'The tenant has no secret of this name, or not this version.' },
  { code: 'SECRETS_VERSION_DISABLED', status: 410, title: 'Secret version disabled', description: 'This version was disabled by an admin and is never served again; read the latest or another version.' },
  { code: 'SECRETS_VALUE_TOO_LARGE', status: 413, title: 'Secret value too large', description: 'The value is longer than SECRETS_MAX_VALUE_BYTES.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(SECRETS_ERROR_CODES);

export type SecretsErrorCode = (typeof SECRETS_ERROR_CODES)[number]['code'];

export function secretsError(code: SecretsErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  return new AppError(code, message, { status: SECRETS_ERROR_CODES.find((c) => c.code === code)!.status, ...(extensions && { extensions }) });
}
