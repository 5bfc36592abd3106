/**
 * Error codes of zero-downtime changes, registered once at import beside the
 * package's other codes (../errors.ts). All are refusals of a step, raised
 * before the step changes anything.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const ZERO_DOWNTIME_ERROR_CODES = [
  {
    code: 'DB_ZDM_STEP_ORDER',
    status: 409,
    title: 'Change step out of order',
    description: 'The step does not follow the change\'s current state (expand → backfill → verify → contract); `npm run migrate -- <app> status` shows the next step.',
  },
  {
    code: 'DB_ZDM_OLD_VERSION_LIVE',
    status: 409,
    title: 'A running instance still needs the old shape',
    description: 'Contract (or the expand of a change not compatible with the previous release) was refused: an instance heartbeating within its TTL registered a schema version below the change\'s. Finish the rollout, or wait for the instance\'s heartbeat to expire.',
  },
  {
    code: 'DB_ZDM_NEW_VERSION_LIVE',
    status: 409,
    title: 'A running instance needs the new shape',
    description: 'Rolling back an expand was refused: a live instance registered the change\'s version or a later one and would lose the columns or tables it uses. Roll the release back first.',
  },
  {
    code: 'DB_ZDM_IRREVERSIBLE',
    status: 409,
    title: 'Step cannot roll back',
    description: 'Contract is one-way: the old shape and its data were dropped. Fix forward with a new change.',
  },
  {
    code: 'DB_ZDM_DISAGREEMENT',
    status: 409,
    title: 'Old and new shapes disagree',
    description: 'Verification counted rows whose old and new shapes differ; run the backfill again (it resumes) and check the dual-write triggers before contracting.',
  },
  {
    code: 'DB_ZDM_BUSY',
    status: 409,
    title: 'Change busy',
    description: 'Another runner holds this change (a backfill in progress); a killed runner releases it with its connection.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(ZERO_DOWNTIME_ERROR_CODES);

export type ZeroDowntimeErrorCode = (typeof ZERO_DOWNTIME_ERROR_CODES)[number]['code'];

/** The one way a zero-downtime step refuses; `details` carries what the operator needs (instances, counts). */
export class ZeroDowntimeError extends AppError {
  readonly details: Record<string, unknown>;
  constructor(code: ZeroDowntimeErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { status: 409 });
    this.name = 'ZeroDowntimeError';
    this.details = details;
  }
}
