/** Expand → backfill → verify → contract, with a heartbeat guard and rollback; see the package README, "Zero-downtime changes". */
export { defineChanges, changeId, type ZeroDowntimeChange, type PreviousReleaseStatement } from './change.ts';
export { ZERO_DOWNTIME_ERROR_CODES, ZeroDowntimeError, type ZeroDowntimeErrorCode } from './errors.ts';
export { nextStep, planRollback, type ChangeState, type ChangeStep, type LiveInstance, type RollbackAction } from './plan.ts';
export { ensureZeroDowntimeTables, type ZeroDowntimeTarget } from './store.ts';
export { registerSchemaVersion, type SchemaHeartbeat, type SchemaHeartbeatOptions } from './heartbeat.ts';
export {
  changeStatus,
  liveInstances,
  expand,
  backfill,
  pauseBackfill,
  verify,
  contract,
  rollback,
  checkPreviousRelease,
  type ChangesTarget,
  type StepOptions,
  type BackfillOptions,
  type BackfillProgress,
  type BackfillResult,
  type ChangeStatus,
} from './runner.ts';
