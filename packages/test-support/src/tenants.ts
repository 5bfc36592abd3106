/**
 * Tenants in tests (row-level security, issue 25): the runtime role's URL an
 * app under test connects with, the tenant its calls carry by default (the
 * gateway's verified `x-auth-tenant`), and admin URLs whose sessions write
 * rows for a tenant.
 */
import { DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole } from '@bulwark/db';
import { call, type Reply } from './http.ts';

/** The tenant an app's test calls carry unless they say otherwise. */
export const TEST_TENANT = 'tenant-a';
/** Another tenant, for isolation tests. */
export const OTHER_TENANT = 'tenant-b';

/**
 * Creates the runtime and reporting roles when missing and returns the
 * runtime role's URL on the server of `ownerUrl` (the app's DATABASE_URL;
 * `ownerUrl` is its MIGRATION_DATABASE_URL).
 */
export async function runtimeDbUrl(ownerUrl: string): Promise<string> {
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  return urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD);
}

/**
 * `url` whose sessions start with `search_path` and, when given, a session
 * default for `bulwark.tenant`: rows a test writes straight into a tenant
 * table through it (as the owner) belong to `tenant`. Pass no `searchPath` to
 * createPool with it: that option would replace these.
 */
export function sessionDbUrl(url: string, options: { searchPath?: string; tenant?: string }): string {
  const parsed = new URL(url);
  const settings = [
    ...(options.searchPath ? [`-c search_path=${options.searchPath}`] : []),
    ...(options.tenant ? [`-c bulwark.tenant=${options.tenant}`] : []),
  ];
  parsed.searchParams.set('options', settings.join(' '));
  return parsed.toString();
}

/** `call` carrying `x-auth-tenant: tenant` unless the headers set it ('' sends none: the request has no tenant). */
export function tenantCall(tenant: string): typeof call {
  return (url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const { 'x-auth-tenant': given, ...rest } = headers;
    const value = given ?? tenant;
    return call(url, method, path, body, value === '' ? rest : { ...rest, 'x-auth-tenant': value });
  };
}
