/**
 * The error codes of @bulwark/db, registered once at import. Each class below
 * is the one way the package raises its code, so callers can branch on
 * `instanceof` or on `code`, and the service kit maps them to problem+json.
 * PostgreSQL errors that are the caller's business (unique violations, check
 * constraints, …) are not wrapped: they keep their SQLSTATE in `code`.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const DB_ERROR_CODES = [
  {
    code: 'DB_POOL_EXHAUSTED',
    status: 503,
    title: 'Database busy',
    description: 'Every pooled connection stayed busy for the whole acquire timeout; shed the request and retry after Retry-After.',
  },
  {
    code: 'DB_UNAVAILABLE',
    status: 503,
    title: 'Database unavailable',
    description: 'A connection could not be opened or the readiness check failed; the database is unreachable or refusing connections.',
  },
  {
    code: 'DB_POOL_CLOSED',
    status: 503,
    title: 'Database pool closed',
    description: 'The pool was used after close(), usually while shutting down; another instance should serve the retry.',
  },
  {
    code: 'DB_STATEMENT_TIMEOUT',
    status: 503,
    title: 'Database statement timed out',
    description: 'PostgreSQL cancelled a statement that ran past the statement timeout (SQLSTATE 57014); retry later or make the query cheaper.',
  },
  {
    code: 'DB_TX_CONFLICT',
    status: 503,
    title: 'Transaction conflict',
    description: 'A transaction kept failing with serialization failures or deadlocks (40001/40P01) after every retry; retry later.',
  },
  {
    code: 'DB_TENANT_INVALID',
    status: 400,
    title: 'Invalid tenant',
    description: 'The verified tenant of the request is not a tenant id (1–128 of A–Z a–z 0–9 _ . : @ -, starting with a letter or digit).',
  },
  {
    code: 'DB_TENANT_REQUIRED',
    status: 403,
    title: 'Tenant required',
    description: 'Row-level security refused a write (SQLSTATE 42501) made without a tenant context: tenant data is only written on behalf of a verified tenant.',
  },
  {
    code: 'DB_ROLE_UNSAFE',
    status: 500,
    title: 'Unsafe runtime database role',
    description: 'The runtime connection is a superuser, has BYPASSRLS or is the role that owns the tables (runs migrations): row-level security would not apply. Give the service its own role.',
  },
  {
    code: 'DB_MIGRATION_INVALID',
    status: 500,
    title: 'Invalid migration',
    description: 'A migration file name does not follow NNNN_name.(expand|contract).sql, or two files share a version.',
  },
  {
    code: 'DB_MIGRATION_CHECKSUM_MISMATCH',
    status: 500,
    title: 'Applied migration was edited',
    description: 'The file of an already applied migration no longer matches its recorded checksum; restore it and add a new migration instead.',
  },
  {
    code: 'DB_MIGRATION_ORDER',
    status: 500,
    title: 'Migration out of order',
    description: 'A contract migration would run before an expand migration with a lower version; run the expand phase first.',
  },
  {
    code: 'DB_MIGRATION_FAILED',
    status: 500,
    title: 'Migration failed',
    description: 'A migration statement failed; its transaction was rolled back and no later migration ran.',
  },
  {
    code: 'DB_MIGRATION_LOCK_TIMEOUT',
    status: 503,
    title: 'Migration lock busy',
    description: 'Another runner held the migration advisory lock for the whole lock timeout.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(DB_ERROR_CODES);

export type DbErrorCode = (typeof DB_ERROR_CODES)[number]['code'];

/** The pool stayed full for the whole acquire timeout: backpressure, not a crash. */
export class PoolExhaustedError extends AppError {
  constructor(pool: string, acquireTimeoutMs: number, cause?: unknown) {
    super('DB_POOL_EXHAUSTED', `pool ${pool}: no connection free within ${acquireTimeoutMs} ms`, {
      status: 503,
      retryAfterSeconds: 1,
      cause,
    });
    this.name = 'PoolExhaustedError';
  }
}

export class DbUnavailableError extends AppError {
  constructor(pool: string, reason: string, cause?: unknown) {
    super('DB_UNAVAILABLE', `pool ${pool}: ${reason}`, { status: 503, retryAfterSeconds: 1, cause });
    this.name = 'DbUnavailableError';
  }
}

export class PoolClosedError extends AppError {
  constructor(pool: string) {
    super('DB_POOL_CLOSED', `pool ${pool} is closed`, { status: 503, retryAfterSeconds: 1 });
    this.name = 'PoolClosedError';
  }
}

export class StatementTimeoutError extends AppError {
  /** The statement name the query was labelled with. */
  readonly statement: string;
  constructor(statement: string, cause: unknown) {
    super('DB_STATEMENT_TIMEOUT', `statement ${statement} exceeded the statement timeout`, {
      status: 503,
      retryAfterSeconds: 1,
      cause,
    });
    this.name = 'StatementTimeoutError';
    this.statement = statement;
  }
}

export class TransactionConflictError extends AppError {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super('DB_TX_CONFLICT', `transaction still conflicting after ${attempts} attempts`, {
      status: 503,
      retryAfterSeconds: 1,
      cause,
    });
    this.name = 'TransactionConflictError';
    this.attempts = attempts;
  }
}

export class MigrationError extends AppError {
  constructor(code: Extract<DbErrorCode, `DB_MIGRATION_${string}`>, message: string, cause?: unknown) {
    super(code, message, { status: code === 'DB_MIGRATION_LOCK_TIMEOUT' ? 503 : 500, cause });
    this.name = 'MigrationError';
  }
}

export class InvalidTenantError extends AppError {
  constructor(tenant: string) {
    super('DB_TENANT_INVALID', `${JSON.stringify(tenant.slice(0, 64))} is not a tenant id`, { status: 400 });
    this.name = 'InvalidTenantError';
  }
}

export class TenantRequiredError extends AppError {
  constructor(statement: string, cause: unknown) {
    super('DB_TENANT_REQUIRED', `statement ${statement} wrote tenant data without a tenant context`, { status: 403, cause });
    this.name = 'TenantRequiredError';
  }
}

export class UnsafeRoleError extends AppError {
  constructor(message: string) {
    super('DB_ROLE_UNSAFE', message, { status: 500 });
    this.name = 'UnsafeRoleError';
  }
}

/** The SQLSTATE of a PostgreSQL error, or undefined for anything else. */
export function sqlStateOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
