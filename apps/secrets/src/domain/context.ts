/** What the use cases need: the runtime pool, the KEK ring, limits. */
import { currentDbContext, type DbPool } from '@bulwark/db';
import { secretsError } from '../errors.ts';
import type { KeyRing } from './envelope.ts';

export interface SecretsContext {
  pool: DbPool;
  ring: KeyRing;
  maxValueBytes: number;
}

/** Who acts: a service by its client id, or an admin by their subject. */
export interface Actor {
  kind: 'service' | 'admin';
  sub: string;
}

/** The tenant the request runs as (gatewayTenantScope): secrets are bound to it. */
export function requestTenant(): string {
  const ctx = currentDbContext();
  if (ctx?.kind !== 'tenant') throw secretsError('SECRETS_TENANT_REQUIRED', 'x-auth-tenant names no tenant: secrets belong to a tenant');
  return ctx.tenant;
}
