export {
  createPool,
  type CreatePoolOptions,
  type AutoscaleOptions,
  type DbPool,
  type DbClient,
  type DbQuery,
  type DbLogger,
  type PoolStats,
  type Queryable,
} from './pool.ts';
export { decidePoolSize, DEFAULT_AUTOSCALE, type AutoscaleConfig, type AutoscaleSample, type AutoscaleDecision, type AutoscaleState } from './autoscale.ts';
export { withTenant, withRequestTenant, gatewayTenantScope, currentDbContext, isTenantId, UNASSIGNED_TENANT, type DbContext } from './tenant-context.ts';
export { withSystemContext } from './system-context.ts';
export { fileCredentials, type DbCredentials } from './credentials.ts';
export { DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole, assertRuntimeRole, grantSchemaAccess, type EnsureRolesOptions, type GrantOptions } from './roles.ts';
export { withTransaction, RETRYABLE_SQLSTATES, type TransactionOptions, type IsolationLevel, type RetryInfo } from './transaction.ts';
export { migrate, migrationStatus, type MigrateOptions, type MigrateResult, type MigrationTarget, type AppliedMigration } from './migrations/migrate.ts';
export { formatMigrationStatus, type MigratePhase, type MigrationStatus, type MigrationState } from './migrations/plan.ts';
export { parseMigrationFileName, migrationChecksum, type MigrationPhase } from './migrations/files.ts';
export {
  DB_ERROR_CODES,
  PoolExhaustedError,
  DbUnavailableError,
  PoolClosedError,
  StatementTimeoutError,
  TransactionConflictError,
  MigrationError,
  InvalidTenantError,
  TenantRequiredError,
  UnsafeRoleError,
  sqlStateOf,
  type DbErrorCode,
} from './errors.ts';
export {
  trackQueries,
  trackRequestQueries,
  queryTrackingScope,
  currentQueryWork,
  withQueryWork,
  listenForNPlusOne,
  QueryWork,
  type QueryTrackingOptions,
  type NPlusOneReport,
  type NPlusOneListener,
  type ShapeStats,
  type WorkKind,
} from './query-tracking.ts';
export { sqlShape, foldLiterals } from './sql-shape.ts';
export {
  createQueryBuilder,
  runQuery,
  sql,
  type BuiltQueryResult,
  type Compilable,
  type ColumnType,
  type Generated,
  type Insertable,
  type Kysely,
  type Selectable,
  type Updateable,
} from './query-builder.ts';
export * as zeroDowntime from './zero-downtime/index.ts';
export { ZeroDowntimeError, defineChanges, registerSchemaVersion, type ZeroDowntimeChange, type SchemaHeartbeat, type ChangesTarget } from './zero-downtime/index.ts';
