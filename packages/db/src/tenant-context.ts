/**
 * Whose data a piece of work may touch, carried in AsyncLocalStorage from the
 * verified request (or the worker that runs on the system's behalf) down to
 * every transaction the pool opens. The pool turns it into
 * `SET LOCAL bulwark.tenant = …` or `SET LOCAL bulwark.system = 'on'` with
 * the BEGIN (a lone statement: `set_config(…, true)` in its own batch,
 * scoped-query.ts); the row-level security
 * policies of tenant tables read those settings. No context: the settings are
 * empty and tenant tables show no rows and refuse inserts (fail closed).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidTenantError } from './errors.ts';
import { trackRequestQueries } from './query-tracking.ts';

export type DbContext = { readonly kind: 'tenant'; readonly tenant: string } | { readonly kind: 'system'; readonly reason: string };

const storage = new AsyncLocalStorage<DbContext>();

/** What a tenant id may look like: a slug, a UUID or an URN-ish name; never empty. */
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/**
 * The tenant_id system work files a row under when its source belongs to no
 * tenant (a row written before tenants, tenant_id NULL): it satisfies the
 * tables' presence check, and no context can ever be it (not a tenant id), so
 * only system work and reporting see such rows.
 */
export const UNASSIGNED_TENANT = '-';

export function isTenantId(value: string): boolean {
  return TENANT_ID.test(value);
}

/** The context of the running code, if any. */
export function currentDbContext(): DbContext | undefined {
  return storage.getStore();
}

/** The tenant every transaction started inside `fn` is scoped to. */
export function withTenant<T>(tenant: string, fn: () => T): T {
  if (!isTenantId(tenant)) throw new InvalidTenantError(tenant);
  return storage.run({ kind: 'tenant', tenant }, fn);
}

/**
 * Runs `fn` scoped to the tenant a request carries (the verified
 * `x-auth-tenant` the gateway sets), or without a context when it carries
 * none, so tenant tables fail closed. A malformed value is a 400.
 */
export function withRequestTenant<T>(header: string | readonly string[] | undefined, fn: () => T): T {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return fn();
  return withTenant(value as string, fn);
}

/**
 * The request scope of a service behind the gateway, for service-kit's
 * createService (`...gatewayTenantScope`): every route runs as the verified
 * `x-auth-tenant` (withRequestTenant), and the codes that scope may answer any
 * route with: without a tenant a write to a tenant table is 403
 * DB_TENANT_REQUIRED, a malformed tenant 400 DB_TENANT_INVALID. Each
 * request's statements are tracked as one work (query-tracking.ts).
 */
export const gatewayTenantScope = {
  requestScope: <T>(req: { headers: Record<string, string | string[] | undefined> }, run: () => T): T => withRequestTenant(req.headers['x-auth-tenant'], () => trackRequestQueries(req, run)),
  requestScopeErrors: ['DB_TENANT_REQUIRED', 'DB_TENANT_INVALID'] as readonly string[],
};

/** For system-context.ts only: enters the system context without the audit. */
export function runAsSystem<T>(reason: string, fn: () => T): T {
  return storage.run({ kind: 'system', reason }, fn);
}
