/**
 * Error codes of the flags service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json.
 * OFREP's failures are problem+json too, carrying the members OFREP's
 * clients read (`key`, `errorCode`, `errorDetails`).
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const FLAGS_ERROR_CODES = [
  { code: 'FLAGS_ADMIN_ONLY', status: 403, title: 'Admin role required', description: 'Flag, segment and experiment writes need the `admin` role in the verified principal (x-auth-roles, set by the gateway).' },
  { code: 'FLAGS_TENANT_REQUIRED', status: 401, title: 'Tenant required', description: 'Flags belong to a tenant: the request needs a verified tenant (x-auth-tenant, set by the gateway or a calling service).' },
  { code: 'FLAGS_FLAG_NOT_FOUND', status: 404, title: 'Flag not found', description: 'No flag with this key (`key`) exists in the tenant.' },
  { code: 'FLAGS_SEGMENT_NOT_FOUND', status: 404, title: 'Segment not found', description: 'No segment with this key (`key`) exists in the tenant.' },
  { code: 'FLAGS_EXPERIMENT_NOT_FOUND', status: 404, title: 'Experiment not found', description: 'No experiment with this key (`key`) exists in the tenant.' },
  { code: 'FLAGS_SCHEDULED_CHANGE_NOT_FOUND', status: 404, title: 'Scheduled change not found', description: 'No pending scheduled change with this id exists in the tenant.' },
  { code: 'FLAGS_INVALID_FLAG', status: 422, title: 'Invalid flag', description: 'The flag is well-formed JSON but inconsistent: `inconsistencies` lists each (a variant value of another type, a rule serving an unknown variant, rollout weights not summing to 100, an unknown segment).' },
  { code: 'FLAGS_SEGMENT_IN_USE', status: 409, title: 'Segment in use', description: 'A segment named by a flag\'s rules (`flags`) cannot be deleted.' },
  { code: 'FLAGS_VERSION_CONFLICT', status: 409, title: 'Version conflict', description: 'The flag changed since the version the write names (`expectedVersion`); `version` is the current one: read it again and retry.' },
  { code: 'FLAGS_UNKNOWN_ENVIRONMENT', status: 422, title: 'Unknown environment', description: 'The flag has no such environment (`environment`).' },
  { code: 'FLAGS_EXPERIMENT_CONFLICT', status: 409, title: 'Experiment conflict', description: 'The flag already runs another experiment in this environment (`experiment`), or the experiment is stopped.' },
  { code: 'FLAGS_EXPERIMENT_INVALID', status: 422, title: 'Invalid experiment', description: 'The experiment\'s flag has no percentage rollout in the environment, or the control variant is not one of the rollout\'s variants.' },
  { code: 'FLAGS_OFREP_FLAG_NOT_FOUND', status: 404, title: 'Flag not found', description: 'OFREP: no flag with this key in the environment; the body also carries OFREP\'s `key`, `errorCode` (FLAG_NOT_FOUND) and `errorDetails`.' },
  { code: 'FLAGS_OFREP_EVALUATION_FAILED', status: 400, title: 'Evaluation failed', description: 'OFREP: the flag cannot be evaluated for this context; the body also carries OFREP\'s `key`, `errorCode` (TARGETING_KEY_MISSING, TYPE_MISMATCH, PARSE_ERROR, GENERAL) and `errorDetails`.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(FLAGS_ERROR_CODES);

export type FlagsErrorCode = (typeof FLAGS_ERROR_CODES)[number]['code'];

/** The one way this service raises its codes. */
export function flagsError(code: FlagsErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const status = FLAGS_ERROR_CODES.find((c) => c.code === code)!.status;
  return new AppError(code, message, { status, extensions });
}
